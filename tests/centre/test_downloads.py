"""Downloads in the customer centre (issue #14): who may download what (CC-2, SUP-3, SUP-11), another
organisation's releases and files out of reach (ALL-1), every download recorded (ALL-3), the four ways of
handing a file over, the withdrawal of download access with its reason, the delivery preference and the
media list of a publication (CC-5), and the page's constant cost.

Release files are bytes made at run time, stored in the test's own folder (``releases_dir``)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from catalog.models import Product, Release
from centre.errors import CentreError
from centre.models import (
    Address,
    DeliveryPreference,
    DeliveryPreferenceEvent,
    DownloadEvent,
    Licence,
    LicenceEvent,
)
from centre.services.downloads import (
    delivery_preference_set,
    licence_downloads_restore,
    licence_downloads_withdraw,
)
from centre.services.licences import licence_book
from locker import vault
from tests.factories import make_product, make_release, make_user

DOWNLOADS = Membership.Right.DOWNLOADS.value


def number() -> str:
    return secrets.token_hex(8).upper()


def book(customer: Organisation, product: Product, **extra: Any) -> Licence:
    return licence_book(
        customer=customer,
        product=product,
        installation_number=number(),
        purchase_date=timezone.localdate(),
        actor=None,
        **extra,
    )


def customer_org(customer_id: str, name: str = "", **address: str) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER,
        name=name or f"Customer {customer_id}",
        customer_id=customer_id,
        **address,
    )


@pytest.fixture
def customer(db: None) -> Organisation:
    return customer_org("C-1", "Acme Sp. z o.o.")


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return customer_org("C-2", "Other S.A.")


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
def suite(db: None) -> Product:
    return make_product("CS-PRO", name="Commerce Suite PROFESSIONAL", support_months=6)


@pytest.fixture
def other_product(db: None) -> Product:
    return make_product("CS-STD", name="Commerce Suite STANDARD", support_months=3)


@pytest.fixture
def release(releases_dir: Path, suite: Product) -> Release:
    return make_release(suite, "2.0", files={"suite-2.0.zip": os.urandom(3000)}, notes="New checkout.")


def file_url(release: Release) -> str:
    return reverse("centre:download_file", args=[release.files.get().pk])


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- who may download what -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc2_sup11_a_direct_licence_shows_the_products_releases_and_downloads_them(
    client, customer, colleague, suite, release
):
    """CC-2, SUP-11: a direct licence: the release with its notes, file, size and SHA-256; the file downloads."""
    book(customer, suite)
    client.force_login(colleague)
    page = client.get(reverse("centre:downloads"))
    assert page.status_code == 200
    text = page.content.decode()
    stored = release.files.get()
    assert "Commerce Suite PROFESSIONAL 2.0" in text and "New checkout." in text
    assert stored.sha256 in text and "2.9\xa0KB" in text
    assert file_url(release) in text
    response = client.get(file_url(release))
    assert response.status_code == 200
    assert hashlib.sha256(body(response)).hexdigest() == stored.sha256


@pytest.mark.django_db
def test_cc2_sup3_a_registered_licence_entitles_too(client, customer, colleague, suite, release):
    """SUP-3, SUP-11: a product bought through a partner and registered downloads like a direct one."""
    book(customer, suite, source=Licence.Source.REGISTERED)
    client.force_login(colleague)
    assert file_url(release) in client.get(reverse("centre:downloads")).content.decode()
    assert client.get(file_url(release)).status_code == 200


@pytest.mark.django_db
def test_cc2_all1_without_a_licence_a_release_and_its_file_do_not_exist(
    client, customer, other_customer, colleague, suite, other_product, release
):
    """CC-2, ALL-1: the organisation licenses another product: the release is not listed, and its id and
    its file's id answer 404 like ids that do not exist; nothing is recorded."""
    book(customer, other_product)
    book(other_customer, suite)  # another organisation is entitled: still nothing for this one
    client.force_login(colleague)
    assert "2.0" not in client.get(reverse("centre:downloads")).content.decode()
    theirs_file = client.get(file_url(release))
    theirs_release = client.get(reverse("centre:release", args=[release.pk]))
    missing_file = client.get(reverse("centre:download_file", args=[999_999]))
    missing_release = client.get(reverse("centre:release", args=[999_999]))
    assert theirs_file.status_code == theirs_release.status_code == 404
    assert missing_file.status_code == missing_release.status_code == 404
    assert b"Commerce Suite" not in theirs_file.content + theirs_release.content
    assert not DownloadEvent.objects.exists()


@pytest.mark.django_db
def test_cc2_an_unpublished_release_is_not_shown_nor_downloaded(
    client, customer, colleague, suite, releases_dir
):
    book(customer, suite)
    draft = make_release(suite, "3.0-beta", files={"beta.zip": b"beta"}, published=False)
    client.force_login(colleague)
    assert "3.0-beta" not in client.get(reverse("centre:downloads")).content.decode()
    assert client.get(file_url(draft)).status_code == 404
    assert client.get(reverse("centre:release", args=[draft.pk])).status_code == 404


@pytest.mark.django_db
def test_cc6_downloads_need_the_downloads_right(client, customer, suite, release):
    """CC-6: a member with the licences right only gets 403 on the page, a release and a file."""
    book(customer, suite)
    member = make_user(customer, role=Membership.Role.MEMBER)
    Membership.objects.filter(user=member).update(right_licences=True)
    client.force_login(member)
    assert client.get(reverse("centre:downloads")).status_code == 403
    assert client.get(reverse("centre:release", args=[release.pk])).status_code == 403
    assert client.get(file_url(release)).status_code == 403
    assert not DownloadEvent.objects.exists()


@pytest.mark.django_db
def test_cc2_the_release_page_shows_the_release_of_a_licensed_product(
    client, customer, colleague, suite, release
):
    book(customer, suite)
    client.force_login(colleague)
    page = client.get(reverse("centre:release", args=[release.pk]))
    assert page.status_code == 200 and file_url(release) in page.content.decode()


@pytest.mark.django_db
def test_cc2_a_colleague_with_downloads_only_sees_no_installation_number(
    client, customer, colleague, suite, release
):
    """CC-1, CC-2: the downloads pages show no installation number (their owner's reveal is elsewhere)."""
    licence = book(customer, suite)
    secret = vault.open_from(licence, Licence.SEAL_KIND)
    client.force_login(colleague)
    for url in [
        reverse("centre:downloads"),
        reverse("centre:release", args=[release.pk]),
        reverse("centre:home"),
    ]:
        assert secret not in client.get(url).content.decode()
    assert client.get(reverse("centre:licences")).status_code == 403


@pytest.mark.django_db
def test_cc2_the_product_filter_shows_one_products_releases(
    client, customer, colleague, suite, other_product, release, releases_dir
):
    book(customer, suite)
    book(customer, other_product)
    standard = make_release(other_product, "9.9", files={"std.zip": b"std"})
    client.force_login(colleague)
    everything = client.get(reverse("centre:downloads"))
    assert [r.pk for r, _ in everything.context["releases"]] == [standard.pk, release.pk]
    only = client.get(reverse("centre:downloads"), {"product": other_product.pk})
    assert [r.pk for r, _ in only.context["releases"]] == [standard.pk]
    assert only.context["product_id"] == other_product.pk
    # A product the organisation does not license, or nonsense: every release, never an error (ALL-2).
    for value in [str(make_product().pk), "x", "-1", "9" * 30]:
        response = client.get(reverse("centre:downloads"), {"product": value})
        assert response.status_code == 200 and len(response.context["releases"]) == 2


@pytest.mark.django_db
def test_cc2_the_downloads_page_costs_the_same_number_of_queries_for_1_or_20_releases(
    client, customer, colleague, suite, other_product, release, releases_dir, django_assert_max_num_queries
):
    """CC-2: constant query count, whatever the number of products, releases and files on the page."""
    book(customer, suite)
    client.force_login(colleague)
    client.get(reverse("centre:downloads"))
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("centre:downloads")).status_code == 200
    book(customer, other_product)
    withdrawn = make_product("CS-OLD")
    licence_downloads_withdraw(licence_ids=[book(customer, withdrawn).pk], reason="Breach.", actor=None)
    for i in range(22):
        product = [suite, other_product, withdrawn][i % 3]
        make_release(product, f"1.{i}", files={f"a{i}.zip": b"a", f"b{i}.zip": b"b"})
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("centre:downloads"))
    assert len(response.context["releases"]) == 20


# --- withdrawal (SUP-11) --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sup11_a_withdrawn_licence_shows_why_and_whom_to_contact_and_the_file_answers_403(
    client, customer, colleague, suite, release, settings
):
    """SUP-11: every licence of the product withdrawn: the page shows the reason and the licensing contact
    instead of the links; the file's URL answers 403 with the same explanation; nothing is recorded."""
    settings.CENTRE_LICENSING_CONTACT_EMAIL = "licensing@distributor.test"
    licence = book(customer, suite)
    licence_downloads_withdraw(licence_ids=[licence.pk], reason="Licence used on 40 shops.", actor=None)
    client.force_login(colleague)
    text = client.get(reverse("centre:downloads")).content.decode()
    assert "Licence used on 40 shops." in text and "licensing@distributor.test" in text
    assert file_url(release) not in text
    response = client.get(file_url(release))
    assert response.status_code == 403
    assert "Licence used on 40 shops." in response.content.decode()
    assert "licensing@distributor.test" in response.content.decode()
    assert not DownloadEvent.objects.exists()


@pytest.mark.django_db
def test_sup11_another_licence_of_the_product_keeps_the_downloads(
    client, customer, colleague, suite, release
):
    """SUP-11 (the rule we chose): access per product needs at least one licence not withdrawn."""
    first, second = book(customer, suite), book(customer, suite, source=Licence.Source.REGISTERED)
    licence_downloads_withdraw(licence_ids=[first.pk], reason="Breach.", actor=None)
    client.force_login(colleague)
    assert client.get(file_url(release)).status_code == 200
    licence_downloads_withdraw(licence_ids=[second.pk], reason="Second breach.", actor=None)
    response = client.get(file_url(release))
    assert response.status_code == 403 and "Second breach." in response.content.decode()
    licence_downloads_restore(licence_ids=[first.pk], actor=None)
    assert client.get(file_url(release)).status_code == 200


@pytest.mark.django_db
def test_sup11_all3_withdrawing_and_restoring_are_recorded_with_the_reason(customer, suite, staff):
    licence = book(customer, suite)
    with pytest.raises(CentreError) as missing:
        licence_downloads_withdraw(licence_ids=[licence.pk], reason="  ", actor=staff)
    assert missing.value.field == "reason"
    assert [
        x.pk for x in licence_downloads_withdraw(licence_ids=[licence.pk], reason="Breach", actor=staff)
    ] == [licence.pk]
    assert licence_downloads_withdraw(licence_ids=[licence.pk], reason="Again", actor=staff) == []  # kept
    licence.refresh_from_db()
    assert licence.downloads_withdrawn_at is not None and licence.downloads_withdrawn_reason == "Breach"
    licence_downloads_restore(licence_ids=[licence.pk], actor=staff)
    licence.refresh_from_db()
    assert licence.downloads_withdrawn_at is None and licence.downloads_withdrawn_reason == ""
    events = list(LicenceEvent.objects.filter(licence=licence).exclude(kind=LicenceEvent.Kind.BOOKED))
    assert [(e.kind, e.actor, e.data) for e in events] == [
        (LicenceEvent.Kind.DOWNLOADS_WITHDRAWN, staff, {"reason": "Breach"}),
        (LicenceEvent.Kind.DOWNLOADS_RESTORED, staff, {"withdrawn_reason": "Breach"}),
    ]


@pytest.mark.django_db
def test_sup11_staff_withdraw_in_the_licence_admin_with_a_reason(staff_client, customer, suite, staff):
    """SUP-11: the admin action asks for the reason on a page of its own, refuses none, then withdraws."""
    licence = book(customer, suite)
    url = reverse("admin:centre_licence_changelist")
    ask = staff_client.post(url, {"action": "withdraw_downloads", "_selected_action": [licence.pk]})
    assert ask.status_code == 200 and 'name="reason"' in ask.content.decode()
    empty = staff_client.post(
        url, {"action": "withdraw_downloads", "_selected_action": [licence.pk], "apply": "1", "reason": ""}
    )
    assert empty.status_code == 200
    licence.refresh_from_db()
    assert licence.downloads_withdrawn_at is None
    done = staff_client.post(
        url,
        {"action": "withdraw_downloads", "_selected_action": [licence.pk], "apply": "1", "reason": "Resold."},
    )
    assert done.status_code == 302
    licence.refresh_from_db()
    assert licence.downloads_withdrawn_reason == "Resold." and licence.downloads_withdrawn_at is not None
    staff_client.post(url, {"action": "restore_downloads", "_selected_action": [licence.pk]})
    licence.refresh_from_db()
    assert licence.downloads_withdrawn_at is None


# --- every download recorded, four ways to hand a file over ----------------------------------------------
@pytest.mark.django_db
def test_cc2_all3_every_download_is_recorded(client, customer, colleague, suite, release):
    book(customer, suite)
    client.force_login(colleague)
    for _ in range(2):
        assert (
            client.get(file_url(release), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Probe/1").status_code
            == 200
        )
    events = list(DownloadEvent.objects.order_by("id"))
    assert len(events) == 2
    for event in events:
        assert event.actor == colleague and event.organisation == customer
        assert event.release_file == release.files.get() and event.ip == "203.0.113.9"
        assert event.user_agent == "Probe/1" and event.at <= timezone.now()
    with pytest.raises(TypeError):
        events[0].delete()  # append-only (ALL-3)


@pytest.mark.django_db
def test_cc2_direct_delivery_streams_the_file_as_an_attachment(
    client, customer, colleague, suite, release, settings
):
    settings.CENTRE_DOWNLOAD_DELIVERY = "direct"
    book(customer, suite)
    client.force_login(colleague)
    response = client.get(file_url(release))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment")
        and release.files.get().file.name.rsplit("/", 1)[-1] in response["Content-Disposition"]
    )
    assert hashlib.sha256(body(response)).hexdigest() == release.files.get().sha256
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_cc2_x_accel_delivery_names_the_internal_location(
    client, customer, colleague, suite, release, settings
):
    settings.CENTRE_DOWNLOAD_DELIVERY = "x-accel"
    settings.CENTRE_DOWNLOAD_ACCEL_PREFIX = "/internal-releases/"
    book(customer, suite)
    client.force_login(colleague)
    response = client.get(file_url(release))
    stored = release.files.get()
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/internal-releases/" + stored.file.name
    assert response["Content-Disposition"].endswith(stored.file.name.rsplit("/", 1)[-1])
    assert DownloadEvent.objects.count() == 1


@pytest.mark.django_db
def test_cc2_x_sendfile_delivery_names_the_absolute_path(
    client, customer, colleague, suite, release, settings, releases_dir
):
    settings.CENTRE_DOWNLOAD_DELIVERY = "x-sendfile"
    book(customer, suite)
    client.force_login(colleague)
    response = client.get(file_url(release))
    assert response.status_code == 200 and response.content == b""
    path = Path(response["X-Sendfile"])
    assert path.is_absolute() and path == releases_dir / release.files.get().file.name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == release.files.get().sha256


class ExpiringStorage(FileSystemStorage):
    """A storage whose URLs carry an expiry, as S3's query-string authentication does."""

    def url(self, name: str | None, expire: int | None = None) -> str:
        return super().url(name) + f"?expires-in={expire}"


@pytest.mark.django_db
def test_cc2_signed_url_delivery_redirects_to_the_storages_short_lived_url(
    client, customer, colleague, suite, release, settings, releases_dir
):
    settings.CENTRE_DOWNLOAD_DELIVERY = "signed-url"
    settings.CENTRE_DOWNLOAD_URL_SECONDS = 120
    settings.STORAGES = {
        **settings.STORAGES,
        "releases": {
            "BACKEND": "tests.centre.test_downloads.ExpiringStorage",
            "OPTIONS": {"location": str(releases_dir), "base_url": "https://files.example.test/"},
        },
    }
    book(customer, suite)
    client.force_login(colleague)
    response = client.get(file_url(release))
    assert response.status_code == 302
    assert (
        response["Location"] == f"https://files.example.test/{release.files.get().file.name}?expires-in=120"
    )
    assert DownloadEvent.objects.count() == 1


# --- delivery preference and the media list (CC-5) --------------------------------------------------------
@pytest.mark.django_db
def test_cc5_user_management_chooses_media_and_the_change_is_recorded(
    client, customer, admin, colleague, suite
):
    book(customer, suite)
    client.force_login(colleague)  # downloads only: sees the choice, cannot change it
    page = client.get(reverse("centre:downloads"))
    assert page.context["delivery_form"] is None and "user management" in page.content.decode()
    assert client.post(reverse("centre:delivery_preference"), {"method": "media"}).status_code == 403
    client.force_login(admin)
    bad = client.post(reverse("centre:delivery_preference"), {"method": "pigeon"})
    assert bad.status_code == 400 and bad.context["delivery_form"].errors["method"]
    assert client.post(reverse("centre:delivery_preference"), {"method": "media"}).status_code == 302
    assert DeliveryPreference.objects.get(organisation=customer).method == "media"
    client.post(reverse("centre:delivery_preference"), {"method": "media"})  # the same again: no event
    event = DeliveryPreferenceEvent.objects.get()
    assert event.organisation == customer and event.actor == admin
    assert event.data == {"before": "download", "after": "media"}


@pytest.mark.django_db
def test_cc5_the_media_list_names_exactly_the_customers_who_chose_media_for_that_product(
    staff_client, suite, other_product, releases_dir, staff
):
    """CC-5: for a published release, the customers who want media and may download that product (a
    licence not withdrawn): not those who download, not those of another product, not a withdrawn one;
    with the delivery address (else the billing one, CC-4) and the administrators' e-mail; every cell
    formula-safe."""
    wants = customer_org("C-10", '=HYPERLINK("x")')
    place = {"company": "Wants Sp. z o.o.", "postcode": "00-001", "city": "Warszawa", "country_code": "PL"}
    Address.objects.create(organisation=wants, kind=Address.Kind.BILLING, street="Biurowa 9", **place)
    Address.objects.create(
        organisation=wants, kind=Address.Kind.DELIVERY, street="Długa 1", attention="Goods in", **place
    )
    make_user(wants, email="admin@wants.test")
    make_user(wants, email="member@wants.test", role=Membership.Role.MEMBER)
    downloads = customer_org("C-11")
    other = customer_org("C-12")
    withdrawn = customer_org("C-13")
    registered = customer_org("C-14", "Registered Ltd")
    Address.objects.create(
        organisation=registered,
        kind=Address.Kind.BILLING,
        company="Registered Ltd",
        street="Main Street 1",
        postcode="D02 X285",
        city="Dublin",
        country_code="IE",
    )
    book(wants, suite)
    book(downloads, suite)
    book(other, other_product)
    licence_downloads_withdraw(licence_ids=[book(withdrawn, suite).pk], reason="Breach.", actor=None)
    book(registered, suite, source=Licence.Source.REGISTERED)
    for org in [wants, other, withdrawn, registered]:
        delivery_preference_set(organisation=org, method="media", actor=None)
    delivery_preference_set(organisation=downloads, method="download", actor=None)
    release = make_release(suite, "5.0", published=False)
    response = staff_client.post(
        reverse("admin:catalog_release_changelist"), {"action": "publish", "_selected_action": [release.pk]}
    )
    csv_response = staff_client.get(response["Location"])
    rows = list(csv.reader(io.StringIO(body(csv_response).decode("utf-8-sig"))))
    assert rows[0][0] == "Customer id" and len(rows) == 3
    assert rows[1] == [
        "C-10",
        '\'=HYPERLINK("x")',
        "Wants Sp. z o.o.",
        "Goods in",
        "Długa 1",
        "00-001",
        "Warszawa",
        "PL",
        "admin@wants.test",
        "CS-PRO",
        "Commerce Suite PROFESSIONAL",
        "5.0",
    ]
    assert rows[2][0] == "C-14" and rows[2][4] == "Main Street 1" and rows[2][-1] == "5.0"
    # ALL-2: release ids int() refuses are left out, never a server error.
    odd = staff_client.get(response["Location"] + "&release=%C2%B2&release=" + "9" * 5000)
    assert odd.status_code == 200 and len(list(csv.reader(io.StringIO(body(odd).decode("utf-8-sig"))))) == 3


@pytest.mark.django_db
def test_cc5_the_media_list_is_for_staff_only(client, admin):
    client.force_login(admin)
    response = client.get(reverse("admin:centre_deliverypreference_media_list"))
    assert response.status_code in (302, 403)


@pytest.mark.django_db
def test_cc2_the_demo_customer_downloads_a_release_of_each_commerce_suite_edition(client):
    """CC-2: seed_demo publishes a release of CS-STD and CS-PRO with a generated file, once however often it
    runs; the downloads-only colleague of the demo customer sees and downloads them."""
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    releases = Release.objects.published().filter(product__sku__in=["CS-STD", "CS-PRO"])
    assert releases.count() == 2 and all(r.files.count() == 1 for r in releases)
    client.force_login(User.objects.get(email="colleague@demo.test"))
    page = client.get(reverse("centre:downloads"))
    assert {r.product.sku for r, _ in page.context["releases"]} == {"CS-STD", "CS-PRO"}
    stored = releases.get(product__sku="CS-PRO").files.get()
    response = client.get(reverse("centre:download_file", args=[stored.pk]))
    assert hashlib.sha256(body(response)).hexdigest() == stored.sha256 and stored.size > 0


def test_cc2_production_hands_files_over_by_x_accel_unless_told_and_refuses_an_unknown_mode():
    """CC-2: with DEBUG off the default is x-accel (never Django streaming a large file), with DEBUG on it
    is direct; an unknown CENTRE_DOWNLOAD_DELIVERY stops the start."""
    from tests.portal.test_setup import _production, _run_manage

    show = "from django.conf import settings as s; print(s.CENTRE_DOWNLOAD_DELIVERY)"
    production = _run_manage("shell", "-c", show, **_production())
    assert production.stdout.strip().splitlines()[-1] == "x-accel", production.stderr
    development = _run_manage(
        "shell", "-c", show, DEBUG="true", DATABASE_URL="sqlite:////tmp/dl-check.sqlite3"
    )
    assert development.stdout.strip().splitlines()[-1] == "direct", development.stderr
    chosen = _run_manage("shell", "-c", show, **_production(CENTRE_DOWNLOAD_DELIVERY="signed-url"))
    assert chosen.stdout.strip().splitlines()[-1] == "signed-url", chosen.stderr
    wrong = _run_manage("check", **_production(CENTRE_DOWNLOAD_DELIVERY="carrier-pigeon"))
    assert wrong.returncode != 0 and "CENTRE_DOWNLOAD_DELIVERY" in wrong.stderr
