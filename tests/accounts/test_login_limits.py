"""Issue #11 item 2 (ALL-1): failed sign-ins are limited per client and per account, behind the reverse
proxy too, counting only real failures, atomically; past the limit every attempt is refused.

The limits live in the configured cache (Redis in CI). Each test uses its own addresses and accounts, so
counters left by another test never meet it."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import login_limits
from accounts.client_ip import client_ip
from api.throttling import TokenRateThrottle

from ..factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.ratelimits

MISMATCH = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def _unique_ip() -> str:
    n = uuid.uuid4().int
    return f"198.51.{n % 200 + 1}.{(n >> 8) % 250 + 1}"


def _login(client: Client, email: str, password: str, **headers: Any) -> tuple[bool, str]:
    response = client.post(reverse("account_login"), {"login": email, "password": password}, **headers)
    html = response.content.decode()
    return response.status_code == 302, html


@pytest.fixture(autouse=True)
def _long_windows(settings: Any) -> None:
    """The portal's limits (10 failures per client, 5 per account), over windows that a slow, loaded test
    run cannot outlast: what is proved is the counting, not the length of a minute."""
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_attempt_ip": "100/m/ip",
        "login_failed": "5/h/key",
        "login_failed_ip": "10/h/ip",
    }


@pytest.fixture
def proxied(settings: Any) -> Any:
    settings.BEHIND_TLS_PROXY = 1
    return settings


def test_one_setting_names_the_client_for_every_limit(rf, proxied):
    """BEHIND_TLS_PROXY is the proxy count for allauth, the API throttle and the reveal record (LOCK-4);
    what the client wrote left of the proxies' hops is ignored."""
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "203.0.113.9"
    from allauth.account.adapter import get_adapter

    assert get_adapter().get_client_ip(request) == "203.0.113.9"
    assert TokenRateThrottle().get_ident(request) == "203.0.113.9"

    proxied.BEHIND_TLS_PROXY = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.7", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "203.0.113.9"
    # Entered behind the outer proxy: the inner one's hop is still ours.
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="10.0.0.7", REMOTE_ADDR="10.0.0.2")) == "10.0.0.7"
    # Proxies that write the client's port.
    assert (
        client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9:5678", REMOTE_ADDR="10.0.0.2"))
        == "203.0.113.9"
    )
    assert (
        client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="[2001:db8::1]:443", REMOTE_ADDR="10.0.0.2"))
        == "2001:db8::1"
    )
    # A hop that is not an address: the proxy's own address, not a value a client chose.
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="x, nonsense", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"

    proxied.BEHIND_TLS_PROXY = 0
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "10.0.0.2"


def test_proxy_count_setting_reads_numbers_and_booleans(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from portal.settings import _proxy_count

    assert [_proxy_count(v) for v in ("", "false", "0", "true", "1", "2", " On ")] == [0, 0, 0, 1, 1, 2, 1]
    with pytest.raises(ImproperlyConfigured):
        _proxy_count("maybe")


@pytest.mark.django_db
def test_failures_behind_the_proxy_stay_with_their_client(client, proxied):
    """Ten failures from one client behind the proxy lock that client out, not the others who reach the
    portal through the same proxy address; rotating the part of the header the client writes does not
    escape the limit."""
    proxy = "10.0.0.2"
    attacker, colleague = _unique_ip(), _unique_ip()
    victims = [make_user(None, email=f"v{i}-{uuid.uuid4().hex[:6]}@end.test") for i in range(11)]
    for i, victim in enumerate(victims[:10]):
        ok, html = _login(
            client,
            victim.email,
            "wrong-password",
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"{i}.1.1.1, {attacker}",
        )
        assert not ok and MISMATCH in html
    ok, html = _login(
        client,
        victims[10].email,
        DEFAULT_PASSWORD,
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=f"9.9.9.9, {attacker}",
    )
    assert not ok and TOO_MANY in html  # right password, still refused: the attacker's address is spent

    ok, _ = _login(
        Client(), victims[10].email, DEFAULT_PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=colleague
    )
    assert ok


@pytest.mark.django_db
def test_past_the_account_limit_every_attempt_is_refused_right_or_wrong(client):
    """No password oracle: after five failures on an account the correct password gets the same refusal,
    from any address; a success before the limit does not reset the count either."""
    user = make_user(None, email=f"locked-{uuid.uuid4().hex[:6]}@end.test")
    for _ in range(4):
        ok, html = _login(client, user.email, "nope", REMOTE_ADDR=_unique_ip())
        assert not ok and MISMATCH in html
    ok, _ = _login(Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=_unique_ip())
    assert ok  # four failures: still allowed, and the success is not counted either way
    ok, html = _login(client, user.email, "nope", REMOTE_ADDR=_unique_ip())
    assert not ok and MISMATCH in html  # the fifth failure
    for password in ("nope", DEFAULT_PASSWORD):
        ok, html = _login(Client(), user.email, password, REMOTE_ADDR=_unique_ip())
        assert not ok and TOO_MANY in html and MISMATCH not in html


def _simultaneous(email: str, passwords: list[str], ip: str) -> list[tuple[bool, str]]:
    barrier = threading.Barrier(len(passwords))
    results: list[tuple[bool, str] | None] = [None] * len(passwords)

    def attempt(i: int) -> None:
        try:
            c = Client()
            barrier.wait()
            results[i] = _login(c, email, passwords[i], REMOTE_ADDR=ip)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


@pytest.fixture
def _patient_turns(monkeypatch):
    """The attempts below queue for the account's turn one password check after another; on a loaded
    machine twelve checks can take longer than the production wait, and an attempt that gives up waiting is
    answered "busy", which is not what these tests are about (``test_an_attempt_waits_for_its_turn_...``)."""
    monkeypatch.setattr(login_limits, "WAIT_SECONDS", 120.0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_patient_turns")
def test_simultaneous_correct_logins_are_never_refused():
    """Of 8 simultaneous correct sign-ins to one account none is answered "too many failed attempts":
    nothing failed (allauth's reserve-then-give-back refused 3 of them)."""
    user = make_user(None, email=f"busy-{uuid.uuid4().hex[:6]}@end.test")
    results = _simultaneous(user.email, [DEFAULT_PASSWORD] * 8, _unique_ip())
    assert [ok for ok, _ in results] == [True] * 8, [html[:300] for ok, html in results if not ok]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_patient_turns")
def test_simultaneous_wrong_passwords_cannot_outrun_the_count(settings):
    """Twelve wrong passwords at once: exactly five are checked and fail, the rest are refused unchecked,
    and then the correct password is refused too (the count is atomic)."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_ip": "100/h/ip"}
    user = make_user(None, email=f"burst-{uuid.uuid4().hex[:6]}@end.test")
    results = _simultaneous(user.email, [f"guess-{i}" for i in range(12)], _unique_ip())
    assert not any(ok for ok, _ in results)
    assert sum(MISMATCH in html for _, html in results) == 5
    assert sum(TOO_MANY in html for _, html in results) == 7
    ok, html = _login(Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=_unique_ip())
    assert not ok and TOO_MANY in html


@pytest.mark.django_db
def test_the_account_limit_does_not_depend_on_the_host_header_or_the_spelling(client):
    """The Host header is the client's to choose (ports, letter case pass ALLOWED_HOSTS), and so is the
    address's case and surrounding spaces: none of them gives the account fresh attempts."""
    user = make_user(None, email=f"host-{uuid.uuid4().hex[:6]}@end.test")
    spellings = [user.email, user.email.upper(), f"  {user.email} ", user.email, user.email.title()]
    for i, login in enumerate(spellings):
        ok, html = _login(Client(), login, "nope", REMOTE_ADDR=_unique_ip(), HTTP_HOST=f"testserver:{i + 1}")
        assert not ok and MISMATCH in html, (login, html[:300])
    ok, html = _login(
        Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=_unique_ip(), HTTP_HOST="TESTSERVER:9"
    )
    assert not ok and TOO_MANY in html


def _simultaneous_logins(attempts: list[tuple[str, str]], ip: str) -> list[tuple[bool, str]]:
    barrier = threading.Barrier(len(attempts))
    results: list[tuple[bool, str] | None] = [None] * len(attempts)

    def attempt(i: int) -> None:
        try:
            c = Client()
            barrier.wait()
            results[i] = _login(c, *attempts[i], REMOTE_ADDR=ip)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [r for r in results if r is not None]


@pytest.mark.django_db(transaction=True)
def test_a_burst_on_many_accounts_from_one_client_cannot_outrun_its_count():
    """Twenty wrong passwords at once on twenty accounts from one client whose limit is ten: exactly ten
    are checked (each reserves its failure before its password is looked at)."""
    users = [make_user(None, email=f"spray{i}-{uuid.uuid4().hex[:6]}@end.test") for i in range(20)]
    results = _simultaneous_logins([(u.email, "Spring2026!") for u in users], _unique_ip())
    assert len(results) == 20 and not any(ok for ok, _ in results)
    assert sum(MISMATCH in html for _, html in results) == 10
    assert sum(TOO_MANY in html for _, html in results) == 10


@pytest.mark.django_db
def test_a_successful_second_factor_does_not_give_the_client_its_failures_back(client, staff):
    """allauth clears the account's counter after a successful second factor; the client's own count is
    kept apart, so signing in to one's own account does not reset a password spray."""
    from ..factories import login_staff_with_mfa

    ip = _unique_ip()
    victims = [make_user(None, email=f"mfa{i}-{uuid.uuid4().hex[:6]}@end.test") for i in range(9)]
    for victim in victims:
        ok, _ = _login(client, victim.email, "nope", REMOTE_ADDR=ip)
        assert not ok
    own = Client(REMOTE_ADDR=ip)
    login_staff_with_mfa(own, staff)
    ok, html = _login(Client(), victims[0].email, "nope", REMOTE_ADDR=ip)
    assert not ok and MISMATCH in html  # the tenth failure
    ok, html = _login(Client(), victims[1].email, DEFAULT_PASSWORD, REMOTE_ADDR=ip)
    assert not ok and TOO_MANY in html


@pytest.mark.django_db
def test_sign_in_attempts_per_client_are_limited_right_or_wrong(settings):
    """Besides failures, a client's attempts of any kind are limited (allauth's "login" limit, counted
    here without a lock)."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_attempt_ip": "3/h/ip"}
    user = make_user(None, email=f"often-{uuid.uuid4().hex[:6]}@end.test")
    ip = _unique_ip()
    assert [_login(Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=ip)[0] for _ in range(3)] == [True] * 3
    ok, html = _login(Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=ip)
    assert not ok and "Too many sign-in attempts from your address" in html and TOO_MANY not in html
    assert _login(Client(), user.email, DEFAULT_PASSWORD, REMOTE_ADDR=_unique_ip())[0]


def test_an_attempt_waits_for_its_turn_only_so_long(monkeypatch):
    """One password check per account at a time: a second attempt waits for the turn and gives up after
    WAIT_SECONDS (a sync worker waiting serves nobody); once the turn is given back the next one gets it."""
    monkeypatch.setattr(login_limits, "WAIT_SECONDS", 0.2)
    key = login_limits.account_key(f"turn-{uuid.uuid4().hex[:6]}@end.test")
    with login_limits.one_attempt_at_a_time(key) as first:
        assert first
        with login_limits.one_attempt_at_a_time(key) as second:
            assert not second
    with login_limits.one_attempt_at_a_time(key) as third:
        assert third


@pytest.mark.django_db
def test_a_per_key_rate_counts_the_key_whatever_the_client(settings):
    """An action limited both per client and per key (a registration per customer id, a web-form request
    per address) counts the key across clients: three clients sharing one key get two attempts in all."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "test_both": "100/h/ip,2/h/key"}
    factory = RequestFactory()
    key = f"shared-{uuid.uuid4().hex[:6]}"
    answers = [
        login_limits.count_attempt(factory.post("/", REMOTE_ADDR=_unique_ip()), "test_both", key=key)
        for _ in range(3)
    ]
    assert [answer is not None for answer in answers] == [True, True, False]
