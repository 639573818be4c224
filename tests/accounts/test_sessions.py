"""Signed-in sessions (issue #14: allauth's user sessions at ``/accounts/sessions/``): a person sees their
own sessions (browser, address, last seen) and ends the others, for real, with the project's session engine
(``cached_db``: the session goes from the cache and the database alike)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.session_activity import SEEN_AT
from tests.factories import DEFAULT_PASSWORD, make_user

SESSIONS = "/accounts/sessions/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
)


def _browser(user_agent: str, ip: str) -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)


def _sign_in(browser: Client, email: str) -> None:
    response = browser.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:1000]


@pytest.mark.django_db
def test_issue14_sessions_list_shows_own_sessions_with_browser_address_and_last_seen(client):
    """ALL-1 (issue #14): the list shows each of the person's sessions (browser, address, signed in, last
    seen, which one is this), never another person's."""
    user = make_user(None, email="anna@customer.example")
    other = make_user(None, email="bob@customer.example")
    laptop, phone = _browser(FIREFOX, "198.51.100.7"), _browser(PHONE, "203.0.113.9")
    _sign_in(laptop, user.email)
    _sign_in(phone, user.email)
    _sign_in(_browser("Stranger/1.0", "192.0.2.55"), other.email)
    page = laptop.get(SESSIONS)
    assert page.status_code == 200
    html = page.content.decode()
    assert FIREFOX in html and PHONE in html and "198.51.100.7" in html and "203.0.113.9" in html
    assert "Stranger/1.0" not in html and "192.0.2.55" not in html
    assert html.count("This session") == 1 and 'aria-current="true"' in html
    assert "Sign out the other sessions" in html
    assert UserSession.objects.filter(user=user).count() == 2
    client.logout()
    assert client.get(SESSIONS).status_code == 302  # signed-in people only


@pytest.mark.django_db
def test_issue14_ending_the_other_sessions_signs_them_out_for_real():
    """Issue #14: from one browser the person ends the others; the other browser's next request is signed
    out (the session is gone from the cache and the database: ``cached_db``), this one stays signed in."""
    user = make_user(None, email="anna@customer.example")
    laptop, phone = _browser(FIREFOX, "198.51.100.7"), _browser(PHONE, "203.0.113.9")
    _sign_in(laptop, user.email)
    _sign_in(phone, user.email)
    assert phone.get(reverse("account_email:change")).status_code == 200
    phone_key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"

    assert laptop.post(SESSIONS).status_code == 302
    assert not Session.objects.filter(session_key=phone_key).exists()
    assert cache.get("django.contrib.sessions.cached_db" + phone_key) is None
    response = phone.get(reverse("account_email:change"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert laptop.get(reverse("account_email:change")).status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [FIREFOX]
    assert "This is your only signed-in session." in laptop.get(SESSIONS).content.decode()


@pytest.mark.django_db
def test_issue14_last_seen_moves_without_a_query_per_page():
    """Issue #14: "last seen" is refreshed at most every few minutes (``SEEN_EVERY``), so an ordinary page
    costs no session write; once that time has passed, the next page writes it."""
    user = make_user(None, email="anna@customer.example")
    laptop = _browser(FIREFOX, "198.51.100.7")
    _sign_in(laptop, user.email)
    row = UserSession.objects.get(user=user)
    long_ago = timezone.now() - timedelta(hours=3)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=long_ago)
    with CaptureQueriesContext(connection) as ctx:
        assert laptop.get(reverse("account_email:change")).status_code == 200
    assert not any("usersessions_usersession" in q["sql"] for q in ctx.captured_queries)
    row.refresh_from_db()
    assert row.last_seen_at == long_ago  # within SEEN_EVERY: not written
    _seen_long_ago(laptop)  # SEEN_EVERY has passed
    assert laptop.get(reverse("account_email:change")).status_code == 200
    row.refresh_from_db()
    assert row.last_seen_at > long_ago


def _seen_long_ago(client) -> None:
    """As if ``SEEN_EVERY`` had passed since the session's row was last written."""
    session = client.session
    session[SEEN_AT] = 0
    session.save()


@pytest.mark.django_db
def test_issue14_a_session_from_before_the_list_is_listed_at_its_next_page(client):
    """Issue #14: a session signed in without being recorded (before the sessions list existed; here the
    test client's ``force_login``, which has no client address) is listed once its next page is seen."""
    user = make_user(None, email="anna@customer.example")
    client.force_login(user)
    _seen_long_ago(client)
    assert client.get(reverse("account_email:change")).status_code == 200
    assert UserSession.objects.filter(user=user, session_key=client.session.session_key).exists()
