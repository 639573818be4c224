"""CC-11: one person in several organisations acts for one of them at a time, chosen in the header (kept in
the session) or fixed by the API token; every page, API view and selector sees only the chosen one's data
(ALL-1). A member of a reseller never receives keys, whatever else they belong to (ESD-7)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Organisation
from accounts.services import address_is_portal_staff_or_partner
from accounts.tenancy import SESSION_KEY
from api.models import ApiToken
from api.services import TokenError, api_token_create
from orders.models import Order
from orders.services import LineIn, OrderError, order_place
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user, org_of, stock


@pytest.fixture
def two_resellers(db: None) -> tuple[Organisation, Organisation]:
    # Named so that "Alpha" is first: the organisation a new session acts for.
    return (
        make_org(Organisation.Kind.RESELLER, "Alpha Resale"),
        make_org(Organisation.Kind.RESELLER, "Beta Resale"),
    )


@pytest.fixture
def person(two_resellers: tuple[Organisation, Organisation]) -> Any:
    """An accountant: member of Alpha, administrator of Beta."""
    alpha, beta = two_resellers
    user = make_user(alpha, email="accountant@firm.test", role=Membership.Role.MEMBER)
    Membership.objects.create(user=user, organisation=beta, role=Membership.Role.ADMIN)
    return user


def _order(organisation: Organisation, placed_by: Any, email: str) -> Order:
    product = make_product()
    stock(product, 1)
    return order_place(
        reseller=organisation,
        placed_by=placed_by,
        end_customer_email=email,
        lines=[LineIn(product_id=product.pk, quantity=1)],
    )


def _signed_in(client: Any, user: Any) -> Any:
    response = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_cc11_all1_the_header_switches_organisation_and_each_sees_only_its_orders(
    client, person, two_resellers
):
    alpha, beta = two_resellers
    alpha_order = _order(alpha, person, "first@end.test")
    beta_order = _order(beta, person, "second@end.test")
    _signed_in(client, person)

    page = client.get(reverse("orders:list")).content.decode()
    assert "first@end.test" in page and "second@end.test" not in page
    # The switcher lists both, the active one selected.
    assert 'name="organisation"' in page and "Alpha Resale" in page and "Beta Resale" in page
    assert f'<option value="{alpha.pk}" selected>' in page
    assert client.get(reverse("orders:detail", args=[alpha_order.pk])).status_code == 200
    assert client.get(reverse("orders:detail", args=[beta_order.pk])).status_code == 404

    response = client.post(reverse("organisation_switch"), {"organisation": beta.pk})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.session[SESSION_KEY] == beta.pk
    page = client.get(reverse("orders:list")).content.decode()
    assert "second@end.test" in page and "first@end.test" not in page
    assert f'<option value="{beta.pk}" selected>' in page
    assert client.get(reverse("orders:detail", args=[beta_order.pk])).status_code == 200
    assert client.get(reverse("orders:detail", args=[alpha_order.pk])).status_code == 404
    # Actions follow the choice too: Alpha's order cannot be cancelled or resent from Beta.
    assert client.post(reverse("orders:resend_welcome", args=[alpha_order.pk])).status_code == 404


@pytest.mark.django_db
def test_cc11_the_switch_message_names_the_organisation_chosen(client, person, two_resellers):
    _signed_in(client, person)
    response = client.post(reverse("organisation_switch"), {"organisation": two_resellers[1].pk}, follow=True)
    assert "You are now working for Beta Resale." in response.content.decode()


@pytest.mark.django_db
def test_cc11_rights_are_those_of_the_organisation_acted_for(client, person, two_resellers):
    """A member in Alpha, an administrator in Beta: organisation settings open only while acting for Beta."""
    _signed_in(client, person)
    assert client.get(reverse("api_tokens:list")).status_code == 403
    client.post(reverse("organisation_switch"), {"organisation": two_resellers[1].pk})
    assert client.get(reverse("api_tokens:list")).status_code == 200
    # A token made on the page belongs to the organisation acted for.
    response = client.post(reverse("api_tokens:list"), {"name": "Beta shop"})
    assert response.status_code == 200
    assert ApiToken.objects.get(created_by=person).organisation == two_resellers[1]


@pytest.mark.django_db
def test_all1_a_switch_to_an_organisation_one_does_not_belong_to_changes_nothing(
    client, person, two_resellers
):
    alpha, _beta = two_resellers
    outsider = make_org(Organisation.Kind.RESELLER, "Outsider Ltd")
    outsider_order = _order(outsider, make_user(outsider), "theirs@end.test")
    _signed_in(client, person)
    for value in (outsider.pk, "not-a-number", ""):
        response = client.post(reverse("organisation_switch"), {"organisation": value}, follow=True)
        assert "You are not a member of that organisation." in response.content.decode()
    assert client.session.get(SESSION_KEY) is None
    assert client.get(reverse("orders:detail", args=[outsider_order.pk])).status_code == 404
    # A session holding another organisation's id (forged, or a membership ended since) acts for the first.
    session = client.session
    session[SESSION_KEY] = outsider.pk
    session.save()
    page = client.get(reverse("orders:list")).content.decode()
    assert f'<option value="{alpha.pk}" selected>' in page and "theirs@end.test" not in page
    assert client.get(reverse("orders:detail", args=[outsider_order.pk])).status_code == 404


@pytest.mark.django_db
def test_cc11_a_membership_ended_while_chosen_leaves_that_organisation(client, person, two_resellers):
    alpha, beta = two_resellers
    beta_order = _order(beta, person, "second@end.test")
    _signed_in(client, person)
    client.post(reverse("organisation_switch"), {"organisation": beta.pk})
    assert client.get(reverse("orders:detail", args=[beta_order.pk])).status_code == 200
    Membership.objects.filter(user=person, organisation=beta).delete()
    assert client.get(reverse("orders:detail", args=[beta_order.pk])).status_code == 404
    page = client.get(reverse("orders:list")).content.decode()
    assert 'name="organisation"' not in page  # one organisation left: no switcher


@pytest.mark.django_db
def test_cc11_switching_needs_a_signed_in_post(client, person, two_resellers):
    assert (
        client.post(reverse("organisation_switch"), {"organisation": two_resellers[1].pk}).status_code == 302
    )
    assert client.session.get(SESSION_KEY) is None  # sent to the login page, nothing chosen
    _signed_in(client, person)
    assert client.get(reverse("organisation_switch")).status_code == 405


@pytest.mark.django_db
def test_cc11_all1_each_token_acts_for_its_own_organisation(person, two_resellers):
    alpha, beta = two_resellers
    Membership.objects.filter(user=person, organisation=alpha).update(role=Membership.Role.ADMIN)
    _order(alpha, person, "first@end.test")
    _order(beta, person, "second@end.test")
    tokens = {org: api_token_create(organisation=org, user=person, name=org.name)[1] for org in (alpha, beta)}

    def listed(token: str) -> Any:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return api.get("/api/v1/orders/")

    assert [o["end_customer_email"] for o in listed(tokens[alpha]).json()["results"]] == ["first@end.test"]
    assert [o["end_customer_email"] for o in listed(tokens[beta]).json()["results"]] == ["second@end.test"]
    # Leaving Alpha ends Alpha's token only.
    Membership.objects.filter(user=person, organisation=alpha).delete()
    assert listed(tokens[alpha]).status_code == 401
    assert listed(tokens[beta]).status_code == 200


@pytest.mark.django_db
def test_cc11_a_token_is_made_only_by_an_administrator_of_that_organisation(person, two_resellers):
    alpha, beta = two_resellers
    with pytest.raises(TokenError) as refused:
        api_token_create(organisation=alpha, user=person, name="x")  # a member there, not an admin
    assert refused.value.code == "not_an_admin"
    with pytest.raises(TokenError):
        api_token_create(organisation=make_org(Organisation.Kind.RESELLER), user=person, name="x")
    record, _token = api_token_create(organisation=beta, user=person, name="x")
    assert record.organisation == beta


@pytest.mark.django_db
def test_cc11_one_membership_per_organisation(person, two_resellers):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=person, organisation=two_resellers[0])


@pytest.mark.django_db
def test_esd7_a_reseller_member_in_a_customer_organisation_gets_no_keys(client, reseller):
    """A person in a customer organisation and in a reseller is never an end customer: no order is placed
    for their address and no locker opens for them, whichever organisation they act for."""
    customer = make_org(Organisation.Kind.CUSTOMER, "Customer Co")
    both = make_user(customer, email="it@customer-co.test")
    assert not address_is_portal_staff_or_partner(both.email)
    _signed_in(client, both)
    assert client.get(reverse("locker:index")).status_code == 200  # only a customer member: a locker

    partner = make_org(Organisation.Kind.RESELLER, "Another Reseller")
    Membership.objects.create(user=both, organisation=partner, role=Membership.Role.MEMBER)
    assert address_is_portal_staff_or_partner(both.email)
    product = make_product()
    stock(product, 1)
    with pytest.raises(OrderError):
        order_place(
            reseller=org_of(reseller),
            placed_by=reseller,
            end_customer_email=both.email,
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
    assert client.get(reverse("locker:index")).status_code == 403
    client.post(reverse("organisation_switch"), {"organisation": customer.pk})
    assert client.get(reverse("locker:index")).status_code == 403


@pytest.mark.django_db
def test_cc11_a_person_in_two_organisations_costs_no_more_queries(client, person, reseller, two_resellers):
    """The memberships are read once per request, however many there are: the order list costs the same
    for one organisation as for two."""
    _order(two_resellers[0], person, "first@end.test")
    single, double = client, type(client)()
    single.force_login(reseller)
    double.force_login(person)
    counts = []
    for browser in (single, double):
        browser.get(reverse("orders:list"))
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(reverse("orders:list")).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_cc11_create_api_token_command_asks_which_organisation(person, two_resellers):
    alpha, beta = two_resellers
    Membership.objects.filter(user=person, organisation=alpha).update(role=Membership.Role.ADMIN)
    with pytest.raises(CommandError, match="--organisation"):
        call_command("create_api_token", person.email, stdout=StringIO(), stderr=StringIO())
    for chosen in ("Beta Resale", str(beta.pk)):
        out = StringIO()
        call_command(
            "create_api_token", person.email, "--organisation", chosen, stdout=out, stderr=StringIO()
        )
        assert ApiToken.objects.get(prefix=out.getvalue().strip()[:9]).organisation == beta
    with pytest.raises(CommandError, match="not a member"):
        call_command("create_api_token", person.email, "--organisation", "Nobody Ltd", stdout=StringIO())
