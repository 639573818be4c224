"""The signed-in user is read with membership and organisation in one query; sessions live in the cache
(cached_db) and still end on log-out and on a password change."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.backends import AuthenticationBackend, ModelBackend
from accounts.models import User
from tests.factories import DEFAULT_PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize("backend", [ModelBackend, AuthenticationBackend])
def test_get_user_reads_membership_and_organisation_in_one_query(backend, reseller, end_customer):
    with CaptureQueriesContext(connection) as ctx:
        user = backend().get_user(reseller.pk)
        org = user.membership.organisation
        assert user.membership.user is user
        customer = backend().get_user(end_customer.pk)
        assert getattr(customer, "membership", None) is None
    assert len(ctx) == 2
    orm = User.objects.select_related("membership__organisation").get(pk=reseller.pk)
    for model_field in User._meta.concrete_fields:
        value, expected = getattr(user, model_field.attname), getattr(orm, model_field.attname)
        assert value == expected and type(value) is type(expected), model_field.name
    assert (org.pk, org.name, org.kind, org.created_at) == (
        orm.membership.organisation.pk,
        orm.membership.organisation.name,
        orm.membership.organisation.kind,
        orm.membership.organisation.created_at,
    )
    assert user.membership.role == orm.membership.role and not user._state.adding


@pytest.mark.django_db
def test_get_user_refuses_inactive_missing_and_malformed_ids(reseller):
    User.objects.filter(pk=reseller.pk).update(is_active=False)
    assert ModelBackend().get_user(reseller.pk) is None
    assert ModelBackend().get_user(10**9) is None
    assert ModelBackend().get_user("not a number") is None


@pytest.mark.django_db
def test_all1_pages_resolve_the_organisation_without_further_queries(client, reseller):
    """ALL-1: tenancy and the navigation use the membership read with the user: one query for all three."""
    client.force_login(reseller)
    client.get(reverse("orders:list"))
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("orders:list"))
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 2 and "accounts_membership" in sql[0] and "accounts_membership" not in sql[1]
    assert not any("django_session" in q for q in sql)


@pytest.mark.django_db
def test_login_through_the_form_uses_the_portal_backends(client, reseller):
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
