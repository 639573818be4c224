"""A customer's addresses (issue #14, CC-4, SVC-4, ALL-1, ALL-2, ALL-3): billing, delivery and sites, kept
by people with the *user management* right and read by every active member; each change recorded with
its actor and the fields before and after; the billing address written through to what invoices print;
another organisation's address ids answer 404; the delivery selector used for media by post."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Membership, Organisation, User
from centre.errors import CentreError
from centre.models import Address, AddressEvent
from centre.selectors import delivery_addresses
from centre.services.addresses import AddressIn, address_set, site_add, site_remove, site_update
from tests.conftest import run_concurrently
from tests.factories import make_org, make_user

BILLING = Address.Kind.BILLING
DELIVERY = Address.Kind.DELIVERY


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER,
        name="Acme Sp. z o.o.",
        customer_id="C-1",
        tax_id="PL5260250995",
        country_code="PL",
        street="ul. Stara 1",
        postcode="00-001",
        city="Warszawa",
        country="Poland",
    )


@pytest.fixture
def other_customer(db: None) -> Organisation:
    return Organisation.objects.create(kind=Organisation.Kind.CUSTOMER, name="Other S.A.", customer_id="C-2")


@pytest.fixture
def admin(customer: Organisation) -> User:
    return make_user(customer, email="boss@acme.test", role=Membership.Role.ADMIN)


@pytest.fixture
def member(customer: Organisation) -> User:
    """A colleague with the *licences* right only: reads addresses, changes none."""
    user = make_user(customer, email="lic@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_licences=True)
    return user


def address(**extra: Any) -> AddressIn:
    values = {
        "company": "Acme Sp. z o.o.",
        "street": "ul. Półwiejska 32",
        "postcode": "61-888",
        "city": "Poznań",
        "country_code": "PL",
    }
    values.update(extra)
    return AddressIn(**values)


def form(**extra: Any) -> dict[str, str]:
    values = {
        "company": "Acme Sp. z o.o.",
        "attention": "IT department",
        "street": "ul. Półwiejska 32",
        "postcode": "61-888",
        "city": "Poznań",
        "country_code": "PL",
        "phone": "+48 61 000 00 00",
    }
    values.update(extra)
    return values


# --- the service ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc4_all3_every_change_is_recorded_with_the_actor_and_the_fields_before_and_after(customer, admin):
    """CC-4, ALL-3: creating, changing and removing record who, and the tracked fields before and after;
    saving what is stored records nothing."""
    billing = address_set(organisation=customer, actor=admin, kind=BILLING, data=address())
    created = AddressEvent.objects.get(address=billing)
    assert created.kind == AddressEvent.Kind.CREATED and created.actor == admin
    assert created.data["before"] is None and created.data["after"]["city"] == "Poznań"
    address_set(
        organisation=customer, actor=admin, kind=BILLING, data=address(city="Gniezno", postcode="62-200")
    )
    changed = AddressEvent.objects.filter(address=billing).order_by("-id").first()
    assert changed is not None and changed.kind == AddressEvent.Kind.CHANGED
    assert changed.data["before"]["city"] == "Poznań" and changed.data["after"]["city"] == "Gniezno"
    assert changed.data["before"]["postcode"] == "61-888" and changed.data["after"]["postcode"] == "62-200"
    address_set(
        organisation=customer, actor=admin, kind=BILLING, data=address(city="Gniezno", postcode="62-200")
    )
    assert AddressEvent.objects.filter(address=billing).count() == 2
    site = site_add(organisation=customer, actor=admin, data=address(label="Warehouse"))
    site_remove(organisation=customer, actor=admin, address_id=site.pk)
    removed = AddressEvent.objects.filter(address=site).order_by("-id").first()
    assert removed is not None and removed.kind == AddressEvent.Kind.REMOVED and removed.data["after"] is None
    site.refresh_from_db()
    assert site.removed_at is not None  # kept for its history (SVC-4: contracts may point at it)


@pytest.mark.django_db
def test_cc4_the_billing_address_is_what_invoices_print(customer, admin):
    """CC-4: the billing address is written onto the organisation's postal address (invoices read it);
    its country code (the tax id's prefix, CC-7) stays."""
    address_set(
        organisation=customer,
        actor=admin,
        kind=BILLING,
        data=address(street="Friedrichstraße 68", postcode="10117", city="Berlin", country_code="DE"),
    )
    customer.refresh_from_db()
    assert customer.postal_address == "Friedrichstraße 68, 10117 Berlin, Germany"
    assert customer.country_code == "PL"
    address_set(organisation=customer, actor=admin, kind=DELIVERY, data=address())
    customer.refresh_from_db()
    assert customer.city == "Berlin"  # a delivery address never changes what invoices print


@pytest.mark.django_db
def test_cc4_staff_see_the_postal_address_a_customer_keeps_read_only(staff_client, customer, admin):
    """CC-4: once a customer keeps its billing address in the centre, the organisation's postal fields in
    the admin are read-only with where the address is kept: a staff edit there would drift from it (the
    centre writes the billing address onto those fields). Before that, staff keep them as before."""
    url = reverse("admin:accounts_organisation_change", args=[customer.pk])
    assert 'name="street"' in staff_client.get(url).content.decode()
    address_set(
        organisation=customer,
        actor=admin,
        kind=BILLING,
        data=address(street="Friedrichstraße 68", postcode="10117", city="Berlin", country_code="DE"),
    )
    html = staff_client.get(url).content.decode()
    assert 'name="street"' not in html and 'name="city"' not in html
    assert "Friedrichstraße 68" in html and "Kept by the customer as its billing address" in html
    posted = {
        "name": "Acme renamed by staff",
        "kind": customer.kind,
        "customer_id": customer.customer_id or "",
        "tax_id": customer.tax_id,
        "country_code": customer.country_code,
        "street": "Somewhere else 1",
        "postcode": "00-001",
        "city": "Warsaw",
        "country": "Poland",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "mail_domains-TOTAL_FORMS": "0",
        "mail_domains-INITIAL_FORMS": "0",
    }
    response = staff_client.post(url, posted)
    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.name == "Acme renamed by staff"  # the rest of the form saved
    assert customer.postal_address == "Friedrichstraße 68, 10117 Berlin, Germany"


@pytest.mark.django_db
def test_cc4_only_user_management_changes_addresses(customer, member):
    """CC-6/CC-4: a member without *user management* is refused by the service, nothing written."""
    for call in (
        partial(address_set, organisation=customer, actor=member, kind=BILLING, data=address()),
        partial(site_add, organisation=customer, actor=member, data=address(label="Shop")),
    ):
        with pytest.raises(CentreError) as refused:
            call()
        assert refused.value.code == "not_allowed"
    assert not Address.objects.exists() and not AddressEvent.objects.exists()


@pytest.mark.django_db
def test_cc4_at_most_one_billing_and_one_delivery_address(customer, admin):
    """CC-4: saving again changes the one address; the database refuses a second one of either kind."""
    first = address_set(organisation=customer, actor=admin, kind=DELIVERY, data=address())
    again = address_set(
        organisation=customer, actor=admin, kind=DELIVERY, data=address(city="Gniezno", postcode="62-200")
    )
    assert first.pk == again.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(
            organisation=customer,
            kind=DELIVERY,
            company="X",
            street="Y",
            postcode="1",
            city="Z",
            country_code="PL",
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc4_two_first_billing_addresses_at_once_make_one_address_and_two_recorded_changes():
    """CC-4, ALL-3: two people saving the first billing address at the same moment take turns (the
    organisation's row lock): one address, created by one and changed by the other, both recorded."""
    customer = make_org(Organisation.Kind.CUSTOMER)
    people = [make_user(customer), make_user(customer)]
    calls = [
        partial(address_set, organisation=customer, actor=person, kind=BILLING, data=address(city=city))
        for person, city in zip(people, ["Poznań", "Gniezno"], strict=True)
    ]
    run_concurrently(calls)
    assert Address.objects.filter(organisation=customer, kind=BILLING).count() == 1
    kinds = sorted(AddressEvent.objects.filter(organisation=customer).values_list("kind", flat=True))
    assert kinds == ["changed", "created"]


@pytest.mark.django_db
def test_cc4_all2_bad_input_names_its_field(customer, admin):
    """ALL-2: a missing field, a country not in the list, a postcode of the wrong shape: refused by field."""
    cases = [
        (BILLING, address(street=" "), "street"),
        (BILLING, address(country_code="XX"), "country_code"),
        (BILLING, address(postcode="61888"), "postcode"),
        (Address.Kind.SITE, address(), "label"),
    ]
    for kind, data, field in cases:
        with pytest.raises(CentreError) as refused:
            if kind == Address.Kind.SITE:
                site_add(organisation=customer, actor=admin, data=data)
            else:
                address_set(organisation=customer, actor=admin, kind=kind, data=data)
        assert refused.value.field == field, (data, refused.value)
    assert not Address.objects.exists()
    # A country without a known shape takes any postcode; known ones take their spellings.
    ok = address_set(
        organisation=customer, actor=admin, kind=BILLING, data=address(country_code="GB", postcode="SW1A 1AA")
    )
    assert ok.postcode == "SW1A 1AA"


# --- the selector for media by post (CC-5) ------------------------------------------------------------------
@pytest.mark.django_db
def test_cc5_delivery_addresses_prefer_the_delivery_address_else_billing(
    customer, admin, other_customer, django_assert_num_queries
):
    """The media-by-post list's selector: delivery address, else billing; neither, left out; one query."""
    address_set(organisation=customer, actor=admin, kind=BILLING, data=address(city="Billing"))
    other_admin = make_user(other_customer)
    address_set(organisation=other_customer, actor=other_admin, kind=BILLING, data=address(city="Bill"))
    address_set(organisation=other_customer, actor=other_admin, kind=DELIVERY, data=address(city="Deliver"))
    nobody = make_org(Organisation.Kind.CUSTOMER)
    with django_assert_num_queries(1):
        found = delivery_addresses([customer.pk, other_customer.pk, nobody.pk])
    assert {org: a.city for org, a in found.items()} == {customer.pk: "Billing", other_customer.pk: "Deliver"}


# --- the pages ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc4_the_page_lists_addresses_with_who_changed_them_for_every_member(client, customer, admin, member):
    """CC-4, ALL-3: every active member reads the addresses and "changed by X on D"; only *user
    management* sees the buttons."""
    address_set(organisation=customer, actor=admin, kind=BILLING, data=address())
    site_add(organisation=customer, actor=admin, data=address(label="Warehouse Poznań"))
    client.force_login(member)
    html = client.get(reverse("centre:addresses")).content.decode()
    assert "Warehouse Poznań" in html and "61-888 Poznań" in html
    assert "changed by boss@acme.test" in html.lower()
    assert reverse("centre:address_billing") not in html and reverse("centre:site_add") not in html
    client.force_login(admin)
    html = client.get(reverse("centre:addresses")).content.decode()
    assert reverse("centre:address_billing") in html and reverse("centre:site_add") in html
    assert reverse("centre:addresses") in client.get(reverse("centre:home")).content.decode()


@pytest.mark.django_db
def test_cc4_a_member_without_user_management_gets_403_on_every_change(client, customer, admin, member):
    """CC-6: as for the licence list without its right: 403, nothing changed."""
    site = site_add(organisation=customer, actor=admin, data=address(label="Shop"))
    client.force_login(member)
    for url in (
        reverse("centre:address_billing"),
        reverse("centre:address_delivery"),
        reverse("centre:site_add"),
        reverse("centre:site_edit", args=[site.pk]),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, form(label="X")).status_code == 403, url
    assert client.post(reverse("centre:site_remove", args=[site.pk])).status_code == 403
    site.refresh_from_db()
    assert site.label == "Shop" and site.removed_at is None
    assert AddressEvent.objects.count() == 1


@pytest.mark.django_db
def test_all2_a_right_taken_away_after_the_page_was_read_is_a_message_not_a_server_error(
    client, customer, admin
):
    """ALL-2: the page's check read the memberships kept from before (the race of a right taken away in
    the meantime; here a write the cache did not hear of), the service reads the database and refuses: the
    person is told so on the addresses page, nothing is removed."""
    from django.db import connection

    from core.kept import shared

    site = site_add(organisation=customer, actor=admin, data=address(label="Shop"))
    client.force_login(admin)
    assert client.get(reverse("centre:addresses")).status_code == 200  # the memberships are kept now
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_membership SET active = false WHERE user_id = %s", [admin.pk])
    response = client.post(reverse("centre:site_remove", args=[site.pk]), follow=True)
    if shared():
        assert response.redirect_chain[-1][0] == reverse("centre:addresses")
        assert "You may not change this organisation" in response.content.decode()
    else:  # a cache per process keeps nothing: the page's own check refuses
        assert response.status_code == 403
    site.refresh_from_db()
    assert site.removed_at is None


@pytest.mark.django_db
def test_all1_another_organisations_address_ids_answer_404_as_missing_ones(
    client, customer, admin, other_customer
):
    """ALL-1: another customer's site, and an id that does not exist, answer the same 404; nothing changes."""
    other_site = site_add(
        organisation=other_customer, actor=make_user(other_customer), data=address(label="Theirs")
    )
    client.force_login(admin)
    for pk in (other_site.pk, other_site.pk + 1000):
        assert client.get(reverse("centre:site_edit", args=[pk])).status_code == 404
        assert client.post(reverse("centre:site_edit", args=[pk]), form(label="Mine")).status_code == 404
        assert client.post(reverse("centre:site_remove", args=[pk])).status_code == 404
    with pytest.raises(CentreError) as refused:
        site_update(organisation=customer, actor=admin, address_id=other_site.pk, data=address(label="Mine"))
    assert refused.value.code == "not_found"
    other_site.refresh_from_db()
    assert other_site.label == "Theirs" and other_site.removed_at is None
    assert "Theirs" not in client.get(reverse("centre:addresses")).content.decode()


@pytest.mark.django_db
def test_cc4_all2_the_form_keeps_what_was_typed_and_shows_the_error_by_its_field(client, customer, admin):
    """ALL-2: a wrong postcode comes back next to its field, with everything typed still there."""
    client.force_login(admin)
    response = client.post(reverse("centre:site_add"), form(label="Warehouse Gniezno", postcode="6288"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_postcode_error"' in html and "not a postcode" in html
    assert 'value="Warehouse Gniezno"' in html and 'value="6288"' in html and 'value="IT department"' in html
    assert not Address.objects.exists()


@pytest.mark.django_db
def test_cc4_billing_starts_from_the_organisations_postal_address_then_edits_add_remove_a_site(
    client, customer, admin
):
    """CC-4, SVC-4: the first billing form shows what invoices print today; sites are added, changed and
    removed through the pages, each recorded."""
    client.force_login(admin)
    html = client.get(reverse("centre:address_billing")).content.decode()
    assert 'value="ul. Stara 1"' in html and 'value="00-001"' in html
    response = client.post(reverse("centre:address_billing"), form())
    assert response.status_code == 302
    response = client.post(reverse("centre:site_add"), form(label="Warehouse"))
    assert response.status_code == 302
    site = Address.objects.get(kind=Address.Kind.SITE)
    response = client.post(reverse("centre:site_edit", args=[site.pk]), form(label="Warehouse 2"))
    assert response.status_code == 302
    response = client.post(reverse("centre:site_remove", args=[site.pk]))
    assert response.status_code == 302
    html = client.get(reverse("centre:addresses")).content.decode()
    assert "Warehouse 2" in html  # in the history, no longer in the list of sites
    assert list(AddressEvent.objects.order_by("id").values_list("kind", flat=True)) == [
        "created",
        "created",
        "changed",
        "removed",
    ]


@pytest.mark.django_db
def test_cc4_the_list_costs_the_same_queries_with_many_sites(
    client, customer, admin, django_assert_max_num_queries
):
    """A constant number of queries, whatever the number of sites and changes."""
    client.force_login(admin)
    site_add(organisation=customer, actor=admin, data=address(label="Site 0"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("centre:addresses"))
    for n in range(1, 15):
        site_add(organisation=customer, actor=admin, data=address(label=f"Site {n}"))
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse("centre:addresses")).status_code == 200
