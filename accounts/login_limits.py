"""Failed sign-ins, counted the way the issue asks: only real failures, atomically, per client and per
account, in allauth's counters in the shared cache.

- **Per account** (``ACCOUNT_RATE_LIMITS["login_failed"]``, a ``key`` rate, shared with allauth's second
  factor step and cleared by a password reset): attempts on one account take turns (a short lock), each
  first checks whether the limit is reached, and only a wrong password is counted. allauth instead reserved
  a failure for every attempt and gave it back after a right password, so simultaneous correct sign-ins
  filled the limit between them and were refused as "too many failed attempts".
- **Per client** (``ACCOUNT_RATE_LIMITS["login_failed_ip"]``, an ``ip`` rate of its own, so nothing allauth
  clears after a success touches it): attempts on different accounts do not take turns, so each reserves
  its failure before the password is checked and gives it back when the password was right; a burst cannot
  outrun the count.

Past either limit every attempt is refused before its password is looked at, right or wrong: the answer
tells nothing about the password.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from allauth.core import ratelimit

# Internals of allauth (pinned below 66): the rates of ACCOUNT_RATE_LIMITS as allauth parses them, and the
# client address as its limits see it (the adapter's, IPv6 cut to its network).
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.core.cache import cache
from django.http import HttpRequest

from .models import normalise_email

ACCOUNT_ACTION = "login_failed"
CLIENT_ACTION = "login_failed_ip"
ATTEMPT_ACTION = "login_attempt_ip"  # every sign-in attempt of a client, right or wrong (allauth's "login")
# An attempt holds its turn while its password hash is checked (well under a second); a turn not given back
# (a killed worker) frees itself after LOCK_SECONDS. An attempt waits at most WAIT_SECONDS for its turn:
# a sync worker waiting is a worker not serving anyone else.
LOCK_SECONDS = 10
WAIT_SECONDS = 5.0


def account_key(login: str) -> str:
    """The account a sign-in is for, however its address was typed (case, spaces) and whatever Host
    header came with it (allauth's own key includes the request's host, which a client chooses)."""
    return "login:" + normalise_email(login)


@contextmanager
def one_attempt_at_a_time(login_key: str) -> Iterator[bool]:
    """Yields True once this attempt has the account's turn, False if it could not get it in time."""
    lock = "login-turn:" + hashlib.sha256(login_key.encode()).hexdigest()
    token = secrets.token_hex(16)
    deadline = time.monotonic() + WAIT_SECONDS
    pause = 0.005
    while not cache.add(lock, token, timeout=LOCK_SECONDS):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        yield True
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)


def account_past_limit(request: HttpRequest, login_key: str) -> bool:
    return not ratelimit.consume(request, action=ACCOUNT_ACTION, key=login_key, dry_run=True)


def record_account_failure(request: HttpRequest, login_key: str) -> None:
    ratelimit.consume(request, action=ACCOUNT_ACTION, key=login_key)


@dataclass(frozen=True)
class ClientFailure:
    """A failure counted against the client; ``rollback`` gives it back (the password was right)."""

    cache_key: str

    def rollback(self) -> None:
        if not self.cache_key:
            return
        with contextlib.suppress(ValueError):  # the window has expired meanwhile: nothing to give back
            cache.decr(self.cache_key)


def reserve_client_failure(request: HttpRequest) -> ClientFailure | ClientFailures | None:
    """The client's failure, counted now (``count_client``); None once the client has used up its
    failures."""
    return count_client(request, CLIENT_ACTION)


def count_client(request: HttpRequest, action: str) -> ClientFailure | ClientFailures | None:
    """One more of ``action`` for this client (``count_attempt``); None once the client is past a rate."""
    return count_attempt(request, action)


def count_attempt(
    request: HttpRequest, action: str, *, key: str = ""
) -> ClientFailure | ClientFailures | None:
    """One more of ``action`` for this client (rates ``…/ip``) and for ``key`` (rates ``…/key``; skipped
    when ``key`` is empty), counted with one atomic increment per rate (no lock, so simultaneous sign-ins
    from one office never wait on each other); None once past a rate, that attempt not counted.

    Each rate counts in windows of its duration; the window before weighs in by the part of it that still
    falls within one duration of now (a sliding estimate), so no burst at a window's edge doubles a limit.
    """
    config = allauth_ratelimit.get_rates(app="allauth.account", action=action)
    if not config or request.method == "GET":
        return ClientFailure("")  # no limit configured: nothing counted, nothing to give back
    ip = allauth_ratelimit.get_ip(request)
    now = time.time()
    taken: list[str] = []
    for rate in config:
        if rate.per == "ip":
            who = ip
        elif rate.per == "key" and key:
            who = "key:" + key
        else:
            continue
        window = int(now // rate.duration)
        base = f"{action}:{rate}:{hashlib.sha256(who.encode()).hexdigest()}"
        counter = f"{base}:{window}"
        count = _increment(counter, timeout=int(rate.duration * 2) + 1)
        before = cache.get(f"{base}:{window - 1}", 0)
        weight = 1 - (now - window * rate.duration) / rate.duration
        if count + before * weight > rate.amount:
            with contextlib.suppress(ValueError):
                cache.decr(counter)
            for other in taken:
                with contextlib.suppress(ValueError):
                    cache.decr(other)
            return None
        taken.append(counter)
    return ClientFailures(tuple(taken))


def _increment(key: str, *, timeout: int) -> int:
    """The counter after one more; made with its expiry if it did not exist (or lapsed meanwhile)."""
    for _ in range(3):
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between the two calls: make it again
            continue
    return int(cache.incr(key))


@dataclass(frozen=True)
class ClientFailures:
    cache_keys: tuple[str, ...]

    def rollback(self) -> None:
        for key in self.cache_keys:
            ClientFailure(key).rollback()
