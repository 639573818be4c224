"""Product registration (CC-10, SUP-2, SUP-3, ALL-1, ALL-2, ALL-3): an issued number becomes a *registered*
licence with support from the sale date; every refusal gets the same answer (wrong customer id, a number
never issued, another customer's number), staff see conflicts; the same customer twice is harmless; two
registrations at once make one licence; only people with the *licences* right; attempts are limited; no
installation number in a message, a log line or an admin page.

Installation numbers are generated at run time, never written in a file."""

from __future__ import annotations

import logging
import secrets
import string
import uuid
from datetime import date
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product
from centre.errors import CentreError
from centre.models import IssuedNumber, Licence, LicenceEvent, RegistrationConflict
from centre.services.imports import licences_import
from centre.services.product_registration import product_register
from locker import vault
from tests.conftest import run_concurrently
from tests.factories import make_product, make_user

REFUSAL = "This installation number cannot be registered with this customer id."


def random_number() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def issue(
    number: str,
    *,
    sku: str = "CS-STD",
    sale_date: str = "2026-09-15",
    customer_id: str = "",
    support_number: str = "",
) -> None:
    """Issue a number the way staff do: through the licences import."""
    source = "partner" if customer_id else ""
    content = (
        "customer_id,sku,installation_number,purchase_date,support_number,source\n"
        f"{customer_id},{sku},{number},{sale_date},{support_number},{source}\n"
    )
    result = licences_import(content=content)
    assert not result.errors, result.errors


@pytest.fixture
def product(db: None) -> Product:
    return make_product("CS-STD", name="Commerce Suite STANDARD", edition="STANDARD", support_months=3)


def customer(customer_id: str, name: str) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name=name, customer_id=customer_id)


@pytest.fixture
def acme(db: None) -> Organisation:
    return customer("C-100", "Acme")


@pytest.fixture
def other(db: None) -> Organisation:
    return customer("C-200", "Other")


@pytest.fixture
def boss(acme: Organisation) -> User:
    return make_user(acme, email="boss@acme.test", role=Membership.Role.ADMIN)


@pytest.fixture
def rival(other: Organisation) -> User:
    return make_user(other, email="boss@other.test", role=Membership.Role.ADMIN)


def post(client: Client, number: str, customer_id: str) -> Any:
    return client.post(
        reverse("centre:licence_register"), {"installation_number": number, "customer_id": customer_id}
    )


def refusal_of(response: Any) -> str:
    """The error summary of the answer, the part a guesser reads."""
    html = response.content.decode()
    start = html.index('<div class="error-summary"')
    return html[start : html.index("</div>", start)]


# --- registering ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc10_sup2_sup3_a_registered_number_joins_the_list_as_registered_with_support_from_the_sale_date(
    client, acme, boss, product
):
    number = random_number()
    issue(number, sale_date="2026-09-15")
    client.force_login(boss)
    form = client.get(reverse("centre:licence_register"))
    assert form.status_code == 200 and 'value="C-100"' in form.content.decode()  # prefilled: its own id
    response = post(client, number.lower().replace("-", " "), "C-100")
    assert response.status_code == 302 and response["Location"] == reverse("centre:licences")
    licence = Licence.objects.get()
    assert licence.customer == acme and licence.source == Licence.Source.REGISTERED
    assert licence.purchase_date == date(2026, 9, 15) and licence.support_ends_on == date(2026, 12, 15)
    assert (
        licence.support_number == f"S-{timezone.localdate().year}-000001"
    )  # issued now: the import had none
    assert vault.open_from(licence, Licence.SEAL_KIND) == number  # the distributor's spelling
    assert IssuedNumber.objects.get().licence == licence
    event = LicenceEvent.objects.get(licence=licence)
    assert (
        event.kind == LicenceEvent.Kind.REGISTERED and event.actor == boss and number not in str(event.data)
    )
    listing = client.get(reverse("centre:licences")).content.decode()
    assert "Registered after a partner" in listing and number in listing
    assert reverse("centre:licence_register") in listing  # linked from the list


@pytest.mark.django_db
def test_cc10_the_support_number_the_import_brought_is_kept_and_a_number_naming_this_customer_registers(
    acme, boss, product
):
    number = random_number()
    issue(number, customer_id="C-100", support_number="ERP-77")
    registered = product_register(
        organisation=acme, customer_id="c-100", installation_number=number, actor=boss
    )
    assert not registered.already and registered.licence.support_number == "ERP-77"


@pytest.mark.django_db
def test_cc10_wrong_customer_id_never_issued_and_another_customers_number_get_one_answer(
    client, acme, boss, other, rival, product, caplog
):
    """The same words whatever was wrong, so nobody learns which numbers exist or whose they are; the
    numbers of another customer are recorded as conflicts for staff."""
    mine, theirs, named_for_them, direct_theirs = (random_number() for _ in range(4))
    issue(mine)
    issue(theirs)
    issue(named_for_them, customer_id="C-200")
    licences_import(
        content=f"customer_id,sku,installation_number,purchase_date\nC-200,CS-STD,{direct_theirs},2026-01-01\n"
    )
    product_register(organisation=other, customer_id="C-200", installation_number=theirs, actor=rival)
    caplog.set_level(logging.DEBUG)
    client.force_login(boss)
    answers = {
        "wrong customer id": post(client, mine, "C-200"),
        "never issued": post(client, random_number(), "C-100"),
        "registered to another": post(client, theirs, "C-100"),
        "issued for another": post(client, named_for_them, "C-100"),
        "another's direct licence": post(client, direct_theirs, "C-100"),
    }
    refusals = {name: refusal_of(response) for name, response in answers.items()}
    assert all(response.status_code == 200 for response in answers.values())
    assert len(set(refusals.values())) == 1, refusals
    assert REFUSAL in next(iter(refusals.values()))
    for number in (mine, theirs, named_for_them, direct_theirs):
        assert all(number not in text for text in refusals.values())
        assert number not in caplog.text
    assert Licence.objects.filter(customer=acme).count() == 0
    conflicts = {(c.kind, c.organisation_id, c.actor_id) for c in RegistrationConflict.objects.all()}
    assert conflicts == {
        (RegistrationConflict.Kind.REGISTERED_ELSEWHERE, acme.pk, boss.pk),
        (RegistrationConflict.Kind.NAMES_ANOTHER, acme.pk, boss.pk),
        (RegistrationConflict.Kind.BOOKED_ELSEWHERE, acme.pk, boss.pk),
    }


@pytest.mark.django_db
def test_cc10_the_same_customer_registering_twice_is_told_it_is_already_in_its_list(
    client, acme, boss, product
):
    number = random_number()
    issue(number)
    client.force_login(boss)
    post(client, number, "C-100")
    again = post(client, number, "C-100")
    html = again.content.decode()
    licence = Licence.objects.get()
    assert again.status_code == 200 and "already in your licence list" in html
    assert f"?q={licence.support_number}" in html  # the link to it
    assert Licence.objects.count() == 1 and LicenceEvent.objects.filter(kind="registered").count() == 1
    assert not RegistrationConflict.objects.exists()


@pytest.mark.django_db
def test_all2_the_form_keeps_what_was_typed_and_shows_errors_by_field(client, acme, boss, product):
    client.force_login(boss)
    empty = client.post(
        reverse("centre:licence_register"), {"installation_number": "", "customer_id": "C-100"}
    )
    html = empty.content.decode()
    assert "Enter the installation number." in html and 'value="C-100"' in html
    number = random_number()
    refused = post(client, number, "C-999")
    html = refused.content.decode()
    assert f'value="{number}"' in html and 'value="C-999"' in html  # kept in the fields for the owner
    assert number not in refusal_of(refused)  # never in the message


@pytest.mark.django_db
def test_cc10_all1_a_person_without_the_licences_right_gets_403_as_on_the_licence_list(client, acme, product):
    colleague = make_user(acme, email="dl@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=colleague).update(right_downloads=True)
    number = random_number()
    issue(number)
    client.force_login(colleague)
    assert client.get(reverse("centre:licences")).status_code == 403
    assert client.get(reverse("centre:licence_register")).status_code == 403
    assert post(client, number, "C-100").status_code == 403
    assert not Licence.objects.exists()
    anonymous = Client().get(reverse("centre:licence_register"))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.ratelimits
@pytest.mark.django_db
def test_cc10_attempts_are_limited_per_person_and_per_customer(settings, acme, product):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "centre_product_register_user": "3/h/key",
        "centre_product_register_org": "4/h/key",
    }
    tag = uuid.uuid4().hex[:6]  # the counters live in Redis beyond this test: keys of its own
    acme.customer_id = f"RL-{tag}"
    acme.save()
    number = random_number()
    issue(number)
    client = Client()
    client.force_login(make_user(acme, email=f"first-{tag}@acme.test", role=Membership.Role.ADMIN))
    for _ in range(3):
        assert REFUSAL in post(client, random_number(), acme.customer_id).content.decode()
    blocked = post(client, number, acme.customer_id)  # the right number, past the limit: nothing registered
    assert "Too many registration attempts" in blocked.content.decode() and not Licence.objects.exists()

    # Per customer: a colleague has turns of their own, until the customer's four are used up.
    colleague = make_user(acme, email=f"second-{tag}@acme.test", role=Membership.Role.ADMIN)
    other_client = Client()
    other_client.force_login(colleague)
    assert REFUSAL in post(other_client, random_number(), acme.customer_id).content.decode()
    assert "Too many registration attempts" in post(other_client, number, acme.customer_id).content.decode()
    assert not Licence.objects.exists()


@pytest.mark.django_db
def test_cc10_lock1_staff_see_issued_numbers_and_conflicts_without_any_number(
    staff_client, acme, boss, other, rival, product
):
    number = random_number()
    issue(number)
    product_register(organisation=other, customer_id="C-200", installation_number=number, actor=rival)
    with pytest.raises(CentreError):
        product_register(organisation=acme, customer_id="C-100", installation_number=number, actor=boss)
    issued = IssuedNumber.objects.get()
    conflict = RegistrationConflict.objects.get()
    pages = [
        staff_client.get(reverse("admin:centre_issuednumber_changelist")),
        staff_client.get(reverse("admin:centre_issuednumber_change", args=[issued.pk])),
        staff_client.get(reverse("admin:centre_registrationconflict_changelist")),
        staff_client.get(reverse("admin:centre_registrationconflict_change", args=[conflict.pk])),
    ]
    assert all(page.status_code == 200 for page in pages)
    assert "Already registered to another customer" in pages[2].content.decode()
    for page in pages:
        html = page.content.decode()
        assert number not in html and number.replace("-", "") not in html
    assert staff_client.get(reverse("admin:centre_registrationconflict_add")).status_code == 403


# --- the race ---------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc10_two_registrations_of_one_number_at_once_make_exactly_one_licence():
    """Each registration in its own transaction, released together: they take turns on the issued
    number's row, so one licence is made and the other is told it is already there."""
    make_product("CS-STD", support_months=3)
    acme = customer("C-100", "Acme")
    people = [make_user(acme, email=f"p{i}@acme.test") for i in range(2)]
    for _round in range(3):
        number = random_number()
        issue(number)
        calls = [
            partial(
                product_register, organisation=acme, customer_id="C-100", installation_number=number, actor=p
            )
            for p in people
        ]
        results = run_concurrently(calls)
        assert sorted(r.already for r in results) == [False, True]
        assert results[0].licence.pk == results[1].licence.pk
    assert Licence.objects.filter(source=Licence.Source.REGISTERED).count() == 3
    assert LicenceEvent.objects.filter(kind=LicenceEvent.Kind.REGISTERED).count() == 3
