"""Failed sign-ins, counted the way the issue asks (only real failures, atomically, per client and per
account), in allauth's own counters (``ACCOUNT_RATE_LIMITS["login_failed"]``), so a password reset still
clears them and the second-factor step keeps its own.

allauth reserves a failure for every attempt before the password is checked and gives it back when the
password was right. Simultaneous correct sign-ins to one account therefore filled the per-account limit
between them and were refused as "too many failed attempts". Here attempts on one account take turns (a
short lock in the shared cache), each first checks whether the limit is already reached (then it is refused
right or wrong, so the answer says nothing about the password), and only a failed check is counted.
Because they take turns, a burst of wrong passwords cannot outrun the count either.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from allauth.core import ratelimit
from django.core.cache import cache
from django.http import HttpRequest

ACTION = "login_failed"
# An attempt holds its turn while its password hash is checked (well under a second); a turn not given back
# (a killed worker) frees itself after LOCK_SECONDS. An attempt waits at most WAIT_SECONDS for its turn.
LOCK_SECONDS = 30
WAIT_SECONDS = 10.0


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


def past_limit(request: HttpRequest, login_key: str) -> bool:
    """True once the client or the account has used up its failures: every attempt is then refused."""
    return not ratelimit.consume(request, action=ACTION, key=login_key, dry_run=True)


def record_failure(request: HttpRequest, login_key: str) -> None:
    ratelimit.consume(request, action=ACTION, key=login_key)
