"""A customer's licences (issue #14): the support term (SUP-2), support numbers, installation numbers sealed
by the vault (LOCK-1) and shown only to people with the *licences* right, each showing and export recorded
(ALL-3), the list complete, searchable and paged at a constant cost (CC-1, CC-9), another organisation's
licences out of reach (ALL-1), and the admin that books them without ever showing a number.

Installation numbers are generated at run time (``random_number``), never written in a file."""

from __future__ import annotations

import csv
import io
import secrets
import string
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from centre.errors import CentreError
from centre.models import Licence, LicenceEvent, LicenceRevealEvent, RevealedLicence
from centre.services.licences import licence_book, normalise_installation_number
from locker import vault
from tests.conftest import run_concurrently
from tests.factories import login_staff_with_mfa, make_org, make_product, make_user

LICENCES = Membership.Right.LICENCES.value
DOWNLOADS = Membership.Right.DOWNLOADS.value


def random_number() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Acme Sp. z o.o.", customer_id="C-1", tax_id="PL5260250995"
    )


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Other S.A.", customer_id="C-2", tax_id="PL1234567890"
    )


@pytest.fixture
def admin(customer: Organisation) -> User:
    return make_user(customer, email="boss@acme.test", role=Membership.Role.ADMIN)


@pytest.fixture
def colleague(customer: Organisation) -> User:
    """A colleague with only the *downloads* right."""
    user = make_user(customer, email="dl@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_downloads=True)
    return user


@pytest.fixture
def office(db: None) -> Product:
    return make_product("O2021-STD", name="Office Standard 2021", support_months=6)


@pytest.fixture
def server(db: None) -> Product:
    return make_product("WS2022-STD", name="Windows Server 2022", support_months=3)


def book(customer: Organisation, product: Product, *, number: str | None = None, **extra: Any) -> Licence:
    extra.setdefault("purchase_date", timezone.localdate() - timedelta(days=10))
    return licence_book(
        customer=customer, product=product, installation_number=number or random_number(), actor=None, **extra
    )


def numbers_of(licences: list[Licence]) -> list[str]:
    return [vault.open_from(licence, Licence.SEAL_KIND) for licence in licences]


# --- the support term and the support number --------------------------------------------------------------
@pytest.mark.django_db
def test_sup2_support_lasts_the_products_3_or_6_months_from_the_purchase_date(customer, office, server):
    """SUP-2: 3 or 6 months from the purchase date, by the product; active before the end, ended on it."""
    six = book(customer, office, purchase_date=date(2026, 8, 31))
    three = book(customer, server, purchase_date=date(2026, 11, 30))
    assert six.support_ends_on == date(2027, 2, 28)
    assert three.support_ends_on == date(2027, 2, 28)
    assert six.support_active(date(2027, 2, 27)) and not six.support_active(date(2027, 2, 28))
    recent = book(customer, server, purchase_date=timezone.localdate())
    assert recent.support_active()
    old = book(customer, server, purchase_date=timezone.localdate() - timedelta(days=200))
    assert not old.support_active()


@pytest.mark.django_db
def test_cc1_all3_booking_issues_a_support_number_records_an_event_and_refuses_a_second_booking(
    customer, office, staff
):
    """CC-1, ALL-3: the portal issues S-<year>-<n> when none is given and keeps one given by the ERP; the
    same installation number (however spaced or cased) is refused, found by its fingerprint."""
    number = random_number()
    first = licence_book(
        customer=customer,
        product=office,
        installation_number=number,
        purchase_date=date(2026, 1, 15),
        edition="Volume",
        actor=staff,
    )
    year = timezone.localdate().year
    assert first.support_number == f"S-{year}-000001" and first.source == Licence.Source.DIRECT
    second = book(customer, office, support_number="ERP-77")
    assert second.support_number == "ERP-77"
    event = LicenceEvent.objects.get(licence=first)
    assert event.kind == LicenceEvent.Kind.BOOKED and event.actor == staff
    assert number not in str(event.data)
    with pytest.raises(CentreError) as refused:
        book(customer, office, number=" " + number.lower().replace("-", " "))
    assert refused.value.code == "number_taken" and number not in str(refused.value)
    with pytest.raises(CentreError) as taken:
        book(customer, office, support_number="ERP-77")
    assert taken.value.code == "support_number_taken"
    assert Licence.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc1_two_bookings_at_once_get_unique_gapless_support_numbers():
    """CC-1: two bookings at the same moment, each in its own transaction: the year's sequence row lock
    makes them take turns, so the support numbers are distinct and follow each other."""
    customer = make_org(Organisation.Kind.CUSTOMER)
    product = make_product(support_months=3)
    for _round in range(3):
        calls = [partial(book, customer, product) for _ in range(2)]
        booked = run_concurrently(calls)
        issued = sorted(int(licence.support_number.rsplit("-", 1)[1]) for licence in booked)
        assert issued[1] == issued[0] + 1, issued
    every = sorted(int(n.rsplit("-", 1)[1]) for n in Licence.objects.values_list("support_number", flat=True))
    assert every == list(range(1, 7))


# --- sealed (LOCK-1) ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_lock1_the_installation_number_is_sealed_and_only_the_vault_opens_it(customer, office):
    """LOCK-1: no column of the row holds the number in clear (in any spelling); the vault opens it."""
    number = random_number()
    licence = book(customer, office, number=number)
    raw = Licence.objects.filter(pk=licence.pk).values().get()
    spellings = {number, number.lower(), normalise_installation_number(number)}
    for value in raw.values():
        text = bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
        assert not any(s in text for s in spellings), "installation number stored in clear"
    assert raw["number_master_key_id"] == vault.current_master_key_id()
    assert vault.open_from(Licence.objects.get(pk=licence.pk), Licence.SEAL_KIND) == number
    assert Licence.SEAL_KIND in {field.kind for field in vault.registered()}


# --- who sees numbers (CC-1, ALL-1) -------------------------------------------------------------------
@pytest.mark.django_db
def test_cc1_a_colleague_with_only_downloads_gets_403_and_never_sees_a_number(
    client, customer, colleague, office
):
    number = book(customer, office).pk and numbers_of(list(Licence.objects.all()))[0]
    client.force_login(colleague)
    for name in ("centre:licences", "centre:licences_csv", "centre:licences_xlsx"):
        assert client.get(reverse(name)).status_code == 403, name
    home = client.get(reverse("centre:home"))
    assert home.status_code == 200
    html = home.content.decode()
    assert number not in html and reverse("centre:licences") not in html
    assert not LicenceRevealEvent.objects.exists()


@pytest.mark.django_db
def test_cc1_the_list_shows_every_number_to_a_person_with_the_right_and_links_from_the_overview(
    client, customer, office, server
):
    member = make_user(customer, email="lic@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=member).update(right_licences=True)
    licences = [book(customer, office, edition="Volume"), book(customer, server)]
    client.force_login(member)
    assert reverse("centre:licences") in client.get(reverse("centre:home")).content.decode()
    response = client.get(reverse("centre:licences"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for licence, number in zip(licences, numbers_of(licences), strict=True):
        assert number in html and licence.support_number in html
    assert "Office Standard 2021" in html and "Volume" in html and "Active until" in html


@pytest.mark.django_db
def test_all1_another_organisations_licences_are_never_listed_or_exported(
    client, customer, other_customer, admin, office
):
    mine = book(customer, office)
    theirs = book(other_customer, office)
    their_number = numbers_of([theirs])[0]
    client.force_login(admin)
    pages = [
        client.get(reverse("centre:licences")).content.decode(),
        b"".join(client.get(reverse("centre:licences_csv")).streaming_content).decode("utf-8-sig"),
        " ".join(_xlsx_text(client.get(reverse("centre:licences_xlsx")))),
    ]
    for content in pages:
        assert their_number not in content and theirs.support_number not in content
        assert mine.support_number in content
    shown = set(RevealedLicence.objects.values_list("licence_id", flat=True))
    assert shown == {mine.pk}


# --- recorded (ALL-3) ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_all3_each_showing_and_each_export_is_recorded_with_the_licence_ids(client, customer, admin, office):
    licences = [book(customer, office) for _ in range(3)]
    client.force_login(admin)
    client.get(reverse("centre:licences"), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Browser/1")
    client.get(reverse("centre:licences_csv"))
    client.get(reverse("centre:licences_xlsx"))
    events = list(LicenceRevealEvent.objects.order_by("id"))
    assert [e.kind for e in events] == ["page", "csv", "xlsx"]
    ids = {licence.pk for licence in licences}
    for event in events:
        assert event.actor == admin and event.organisation == customer
        assert set(event.shown.values_list("licence_id", flat=True)) == ids
    assert events[0].ip == "203.0.113.9" and events[0].user_agent == "Browser/1"
    with pytest.raises(TypeError):
        events[0].delete()


@pytest.mark.django_db
def test_cc9_the_list_is_paged_newest_purchase_first_and_every_licence_is_reachable(
    client, customer, admin, office
):
    today = timezone.localdate()
    licences = [book(customer, office, purchase_date=today - timedelta(days=i // 2)) for i in range(30)]
    client.force_login(admin)
    first = client.get(reverse("centre:licences"))
    rows = first.context["rows"]
    assert len(rows) == 25
    dates = [(r.licence.purchase_date, r.licence.pk) for r in rows]
    assert dates == sorted(dates, reverse=True)
    second = client.get(reverse("centre:licences") + first.context["older_url"])
    seen = {r.licence.pk for r in rows} | {r.licence.pk for r in second.context["rows"]}
    assert seen == {licence.pk for licence in licences}
    assert second.context["older_url"] == ""


@pytest.mark.django_db
def test_cc9_the_list_costs_the_same_number_of_queries_for_2_or_25_licences(
    client, customer, admin, office, server, django_assert_max_num_queries
):
    """CC-9: constant query count: a page of 25 (with the recording of its showing) costs what a page of
    two does."""
    book(customer, office)
    book(customer, server)
    client.force_login(admin)
    client.get(reverse("centre:licences"))  # session and caches warmed
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("centre:licences")).status_code == 200
    for i in range(28):
        book(customer, office if i % 2 else server)
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("centre:licences"))
    assert len(response.context["rows"]) == 25


@pytest.mark.django_db
def test_cc1_search_finds_by_product_name_sku_and_support_number(client, customer, admin, office, server):
    o = book(customer, office)
    s = book(customer, server, support_number="ERP-SUP-9")
    client.force_login(admin)

    def found(q: str) -> set[int]:
        return {r.licence.pk for r in client.get(reverse("centre:licences"), {"q": q}).context["rows"]}

    assert found("office st") == {o.pk}
    assert found("ws2022") == {s.pk}
    assert found("erp-sup") == {s.pk}
    assert found(o.support_number[:8]) == {o.pk}
    assert found("nothing") == set()
    csv_text = b"".join(client.get(reverse("centre:licences_csv"), {"q": "ws2022"}).streaming_content).decode(
        "utf-8-sig"
    )
    assert s.support_number in csv_text and o.support_number not in csv_text


# --- exports ------------------------------------------------------------------------------------------------
def _xlsx_rows(response: Any) -> list[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def _xlsx_text(response: Any) -> list[str]:
    return [str(cell) for row in _xlsx_rows(response) for cell in row]


@pytest.mark.django_db
def test_cc1_csv_and_xlsx_hold_every_licence_with_its_number_and_no_formula(client, customer, admin, office):
    risky = make_product("=SKU", name='=HYPERLINK("http://evil.test","x")', support_months=6)
    plain = book(customer, office, edition="Volume", purchase_date=date(2026, 3, 1))
    bad = book(customer, risky, edition="+1+1", purchase_date=date(2026, 2, 1))
    plain_number, bad_number = numbers_of([plain, bad])
    client.force_login(admin)

    response = client.get(reverse("centre:licences_csv"))
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Product", "SKU", "Edition", "Installation number", "Support number"]
    assert rows[1][:5] == ["Office Standard 2021", "O2021-STD", "Volume", plain_number, plain.support_number]
    assert rows[1][6] == "2026-03-01"
    assert rows[2][:4] == ["'" + risky.name, "'=SKU", "'+1+1", bad_number]

    response = client.get(reverse("centre:licences_xlsx"))
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = _xlsx_rows(response)
    assert sheet[0][3] == "Installation number"
    assert sheet[1][:5] == ["Office Standard 2021", "O2021-STD", "Volume", plain_number, plain.support_number]
    assert sheet[1][6].date() == date(2026, 3, 1)
    assert sheet[2][:4] == ["'" + risky.name, "'=SKU", "'+1+1", bad_number]
    # No cell of the workbook is a formula.
    from openpyxl import load_workbook

    response = client.get(reverse("centre:licences_xlsx"))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)


# --- the admin (CC-1, LOCK-1) -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc1_lock1_staff_book_in_the_admin_and_the_number_never_shows_there(client, staff, customer, office):
    login_staff_with_mfa(client, staff)
    number = random_number()
    response = client.post(
        reverse("admin:centre_licence_add"),
        {
            "customer": customer.pk,
            "product": office.pk,
            "edition": "Volume",
            "purchase_date": "2026-05-04",
            "installation_number": number,
            "support_number": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    licence = Licence.objects.get()
    assert vault.open_from(licence, Licence.SEAL_KIND) == number
    assert licence.support_ends_on == date(2026, 11, 4)
    assert LicenceEvent.objects.get(licence=licence).actor == staff

    pages = [
        client.get(reverse("admin:centre_licence_changelist")),
        client.get(reverse("admin:centre_licence_changelist"), {"q": licence.support_number}),
        client.get(reverse("admin:centre_licence_change", args=[licence.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert number not in html and normalise_installation_number(number) not in html
    assert "••••" in pages[2].content.decode() and licence.support_number in pages[0].content.decode()

    # The same number again is refused next to its field, and not echoed back.
    again = client.post(
        reverse("admin:centre_licence_add"),
        {
            "customer": customer.pk,
            "product": office.pk,
            "purchase_date": "2026-05-04",
            "installation_number": number,
        },
    )
    assert again.status_code == 200 and number not in again.content.decode()
    assert Licence.objects.count() == 1

    # A number with no letter or digit is refused next to its field, on adding and on replacing (ALL-2).
    for url, data in (
        (reverse("admin:centre_licence_add"), {"customer": customer.pk, "product": office.pk}),
        (reverse("admin:centre_licence_change", args=[licence.pk]), {"product": office.pk}),
    ):
        odd = client.post(url, {**data, "purchase_date": "2026-05-04", "installation_number": "% -"})
        assert odd.status_code == 200 and "Enter the installation number." in odd.content.decode()
    assert vault.open_from(Licence.objects.get(), Licence.SEAL_KIND) == number

    # A purchase date after today (up to the calendar's last day) is refused next to its field (ALL-2).
    for future in ((timezone.localdate() + timedelta(days=1)).isoformat(), "9999-12-31"):
        later = client.post(
            reverse("admin:centre_licence_add"),
            {
                "customer": customer.pk,
                "product": office.pk,
                "purchase_date": future,
                "installation_number": "x",
            },
        )
        assert (
            later.status_code == 200
            and "The purchase date cannot be in the future." in later.content.decode()
        )
        changed = client.post(
            reverse("admin:centre_licence_change", args=[licence.pk]),
            {"product": office.pk, "purchase_date": future, "installation_number": ""},
        )
        assert changed.status_code == 200 and "cannot be in the future" in changed.content.decode()
    assert Licence.objects.count() == 1 and Licence.objects.get().purchase_date == date(2026, 5, 4)

    # Replacing the number from the change form seals the new one, recorded without it.
    replacement = random_number()
    response = client.post(
        reverse("admin:centre_licence_change", args=[licence.pk]),
        {
            "product": office.pk,
            "edition": "Volume",
            "purchase_date": "2026-05-04",
            "installation_number": replacement,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert vault.open_from(Licence.objects.get(), Licence.SEAL_KIND) == replacement
    replaced = LicenceEvent.objects.get(kind=LicenceEvent.Kind.NUMBER_REPLACED)
    assert replacement not in str(replaced.data)


@pytest.mark.django_db
def test_all2_odd_licence_search_never_reaches_a_server_error(client):
    """ALL-2: a NUL or other control character typed in the licence search is dropped, not a 500."""
    from accounts.models import Membership, Organisation
    from tests.factories import make_org, make_user

    customer = make_org(Organisation.Kind.CUSTOMER, "Odd Search Ltd")
    person = make_user(customer, email="it@odd-search.test", role=Membership.Role.ADMIN)
    client.force_login(person)
    for q in ("\x00", "S-\x00", "\x1b[31m", "%_"):
        assert client.get("/centre/licences/", {"q": q}).status_code == 200, q
        assert client.get("/centre/licences/export.csv", {"q": q}).status_code == 200, q
