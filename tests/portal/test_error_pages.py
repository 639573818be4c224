"""Error pages in the portal's look (issue #13): 403, 404, 405 and 500, each with a way home; the 403 page
points a person with several organisations at the switcher; the 405 page keeps the Allow header and only
replaces browsers' answers (ALL-1, ALL-2: nothing a user can send produces a bare or a server error page)."""

from __future__ import annotations

import pytest
from django.template import loader
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from accounts.models import Membership, Organisation
from tests.factories import make_org, make_user

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.django_db
def test_all1_404_is_the_portals_page_with_a_way_home(client, reseller):
    """ALL-1: an unknown address and another organisation's order answer the same 404 page, in the portal's
    header, with a link home."""
    client.force_login(reseller)
    response = client.get("/no/such/page/", **HTML)
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in html and 'class="card error-page"' in html and "Page not found" in html
    assert 'href="/"' in html and "Reseller portal" in html


@pytest.mark.django_db
def test_403_for_an_end_customer_opening_the_orders_is_styled_and_offers_home(client, end_customer):
    """A customer opening /orders/ gets the portal's 403 page (not a bare "403 Forbidden"), with a way home."""
    client.force_login(end_customer)
    response = client.get(reverse("orders:list"), **HTML)
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="card error-page"' in html and "You cannot open this page" in html
    assert 'href="/"' in html and "switch above" not in html
    assert "Reseller portal" not in html


@pytest.mark.django_db
def test_cc11_403_points_a_person_of_several_organisations_at_the_switcher(client):
    """CC-11: acting for a customer organisation, a person who is also in a reseller is told that they may
    be signed in for another organisation and to switch above."""
    person = make_user(make_org(Organisation.Kind.CUSTOMER, "Alpha Customer"), email="both@alpha.test")
    Membership.objects.create(
        user=person, organisation=make_org(Organisation.Kind.RESELLER, "Beta Resale"), role="admin"
    )
    client.force_login(person)
    response = client.get(reverse("orders:list"), **HTML)
    html = response.content.decode()
    assert response.status_code == 403
    assert "You may be signed in for another organisation: switch above." in html
    assert 'id="org-select"' in html and "Alpha Customer" in html


@pytest.mark.django_db
def test_403_for_a_member_on_an_administrators_page(client, reseller_org):
    """A reseller's member (not an administrator) opening the API tokens gets the 403 page."""
    member = make_user(reseller_org, email="member@reseller-one.test", role="member")
    client.force_login(member)
    response = client.get(reverse("api_tokens:list"), **HTML)
    assert response.status_code == 403 and "error-page" in response.content.decode()


@pytest.mark.django_db
def test_405_page_for_a_browser_keeps_the_allow_header(client, reseller):
    """A browser that reloads an address that takes only a POST gets the portal's 405 page with Allow."""
    client.force_login(reseller)
    url = reverse("api_tokens:revoke", args=[1])
    response = client.get(url, **HTML)
    html = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert 'class="card error-page"' in html and 'href="/"' in html and 'class="topbar"' in html
    assert response["Content-Type"].startswith("text/html")
    switch = client.get(reverse("organisation_switch"), **HTML)  # @require_POST as well
    assert switch.status_code == 405 and switch["Allow"] == "POST" and "error-page" in switch.content.decode()


@pytest.mark.django_db
def test_405_for_other_clients_and_the_api_is_left_alone(client, reseller):
    """Clients that do not ask for HTML keep Django's empty 405, and the API its own answer."""
    client.force_login(reseller)
    response = client.get(reverse("api_tokens:revoke", args=[1]), HTTP_ACCEPT="application/json")
    assert response.status_code == 405 and response["Allow"] == "POST" and response.content == b""
    api = client.delete("/api/v1/orders/", HTTP_ACCEPT="application/json")
    assert api.status_code in (401, 403, 405) and b"error-page" not in api.content


def test_500_renders_without_a_request_context():
    """The 500 page needs no request, user, context processor or URL reversing: a plain link home."""
    html = loader.get_template("500.html").render()
    assert 'href="/"' in html and "error-page" in html and "Something went wrong" in html
    assert "/static/css/portal.css" in html
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b'class="card error-page"' in response.content


@pytest.mark.django_db
def test_all2_a_view_that_fails_answers_the_500_page(client, reseller, monkeypatch):
    """ALL-2: should a page fail, the person still gets the portal's 500 page, not a bare one."""
    import accounts.views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts.views.MailDomainListView, "get", broken)
    client.raise_request_exception = False
    client.force_login(reseller)
    response = client.get(reverse("mail_domains:list"), **HTML)
    assert response.status_code == 500 and b"Something went wrong on our side" in response.content
