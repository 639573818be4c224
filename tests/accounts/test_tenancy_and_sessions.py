"""The signed-in user and the organisation the request acts for are read once per request, by the ORM;
sessions live in the cache (cached_db) and still end on log-out and on a password change."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Organisation, User
from accounts.tenancy import tenancy_for
from tests.factories import DEFAULT_PASSWORD, make_org


def org_of_name(name: str) -> int:
    return Organisation.objects.get(name=name).pk


@pytest.mark.django_db
def test_all1_cc11_a_page_reads_the_user_and_the_memberships_once(client, reseller):
    """ALL-1, CC-11: the signed-in user (Django's backend) and their memberships with organisations (one
    query, ``accounts.tenancy``) are read once per request, however often the guard, the view and the
    navigation ask; later pages take the memberships from the cache until they change
    (``accounts.membership_cache``); the session comes from the cache, not the database."""
    client.force_login(reseller)
    Membership.objects.filter(user=reseller).update(role=Membership.Role.ADMIN)  # whatever was kept is stale
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("orders:list")).status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 3, sql
    assert '"accounts_user"' in sql[0] and "accounts_membership" not in sql[0]
    assert "accounts_membership" in sql[1] and "accounts_organisation" in sql[1]
    assert "accounts_membership" not in sql[2] and "orders_order" in sql[2]
    assert not any("django_session" in q for q in sql)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("orders:list")).status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 2 and not any("accounts_membership" in q for q in sql), sql


@pytest.mark.django_db
def test_tenancy_for_reads_memberships_by_organisation_name(reseller, end_customer):
    second = make_org(Organisation.Kind.RESELLER, "Aardvark Resale")  # before "Reseller One"
    Membership.objects.create(user=reseller, organisation=second)  # what was kept is stale
    with CaptureQueriesContext(connection) as ctx:
        tenancy = tenancy_for(reseller)
        names = [o.name for o in tenancy.organisations]
        assert tenancy.organisation == second and tenancy.reseller == second
    assert names == ["Aardvark Resale", "Reseller One"] and len(ctx) == 1
    assert tenancy_for(reseller, chosen=org_of_name("Reseller One")).organisation.name == "Reseller One"
    customer = tenancy_for(end_customer)
    assert customer.organisation is None and customer.memberships == () and customer.uses_locker
    assert tenancy_for(AnonymousUser()).organisation is None


@pytest.mark.django_db
def test_an_inactive_users_session_opens_nothing(client, reseller):
    client.force_login(reseller)
    assert client.get(reverse("orders:list")).status_code == 200
    User.objects.filter(pk=reseller.pk).update(is_active=False)
    assert client.get(reverse("orders:list")).status_code == 302  # to the login page


@pytest.mark.django_db
def test_login_through_the_form_uses_the_configured_backends(client, reseller):
    response = client.post(reverse("account_login"), {"login": reseller.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] in settings.AUTHENTICATION_BACKENDS
    assert client.get(reverse("orders:list")).status_code == 200


@pytest.mark.django_db
def test_log_out_ends_the_session_also_for_a_copy_of_its_cookie(reseller):
    """Sessions are read from the cache (cached_db): logging out must end them there too."""
    browser = Client()
    browser.force_login(reseller)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.get(reverse("orders:list")).status_code == 200
    assert browser.post(reverse("account_logout")).status_code == 302
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert thief.get(reverse("orders:list")).status_code == 302  # to the login page


@pytest.mark.django_db
def test_password_change_ends_other_sessions(reseller):
    browser = Client()
    browser.force_login(reseller)
    assert browser.get(reverse("orders:list")).status_code == 200
    assert str(reseller.pk) == browser.session[SESSION_KEY]
    reseller.set_password("An0ther-Pass-2026")
    reseller.save()
    assert browser.get(reverse("orders:list")).status_code == 302
