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

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from allauth.core import ratelimit

# The one internal of allauth used here (allauth is pinned below 66): ``consume`` that hands back the usage
# to roll back, as allauth's own login does; the public wrapper answers only True or False.
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.core.cache import cache
from django.http import HttpRequest

from .models import normalise_email

ACCOUNT_ACTION = "login_failed"
CLIENT_ACTION = "login_failed_ip"
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


def reserve_client_failure(request: HttpRequest) -> Any:
    """The client's failure, counted now (None: the client has used up its failures). Give it back with
    ``.rollback()`` when the attempt turns out not to be a failure."""
    return allauth_ratelimit.consume(request, app="allauth.account", action=CLIENT_ACTION)
