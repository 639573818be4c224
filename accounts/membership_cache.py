"""Each person's active memberships, kept in the cache between requests (``accounts.tenancy`` reads them
on every signed-in page: one cache round trip instead of a query with a join).

Valid under a token per person that every change replaces (``forget``): saving or deleting a membership
or an organisation (``accounts.receivers``), and the bulk writes of their querysets
(``accounts.models``), which send no signals. The token is read before the database, so memberships read
just before a change are stored under the token that change replaced and never served. Tokens are
replaced at once and again when the change commits: a request that read the database between the two
would otherwise keep what it read. The account's creation time is stored with the memberships, so an
entry cannot outlive its account into another with the same id (a database rebuilt under a kept cache).
The figures are in bench/README.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

# How long unread memberships stay in the cache; any change makes them stale at once.
KEEP_SECONDS = 24 * 3600

T = TypeVar("T")


def _keys(user_id: Any) -> tuple[str, str]:
    return f"accounts.memberships.token:{user_id}", f"accounts.memberships:{user_id}"


def _shared() -> bool:
    """Whether every process sees the same cache (Redis). A per-process one (development's default) would
    miss the changes other processes make, a management command's or a worker's: nothing is kept there."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith((".LocMemCache", ".DummyCache"))


def kept(user: Any, read: Callable[[Any], T]) -> T:
    """``read(user)``'s answer for this person, from the cache while nothing changed, else read and kept."""
    if not _shared():
        return read(user)
    token_key, kept_key = _keys(user.pk)
    found = cache.get_many([token_key, kept_key])
    token, entry = found.get(token_key), found.get(kept_key)
    joined = getattr(user, "date_joined", None)
    if token is not None and entry is not None and entry[0] == token and entry[1] == joined:
        return entry[2]  # type: ignore[no-any-return]
    if token is None:
        token = secrets.token_hex(8)
        if not cache.add(token_key, token, timeout=None):
            token = cache.get(token_key)
    answer = read(user)
    if token is not None:
        cache.set(kept_key, (token, joined, answer), timeout=KEEP_SECONDS)
    return answer


def forget(user_ids: Iterable[Any]) -> None:
    """Make what is kept for these people stale, now and when the surrounding transaction commits.
    Call it after the write: outside a transaction both happen at once, and a request that read the
    database before the write would otherwise keep what it read under the new token."""
    keys = [_keys(user_id)[0] for user_id in set(user_ids)]
    if not keys or not _shared():
        return

    def replace_tokens() -> None:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)

    replace_tokens()
    transaction.on_commit(replace_tokens)
