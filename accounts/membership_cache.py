"""Each person's active memberships, kept in the cache between requests (``accounts.tenancy`` reads them
on every signed-in page: one cache round trip instead of a query with a join).

Kept by ``core.kept`` under a token per person that every change replaces (``forget``): saving or deleting
a membership or an organisation (``accounts.receivers``), and the bulk writes of their querysets
(``accounts.models``), which send no signals. The account's creation time guards the entry, so it cannot
outlive its account into another with the same id. The figures are in bench/README.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from core.kept import kept as _kept
from core.kept import replace_tokens

# How long unread memberships stay in the cache; any change makes them stale at once.
KEEP_SECONDS = 24 * 3600

T = TypeVar("T")


def _keys(user_id: Any) -> tuple[str, str]:
    return f"accounts.memberships.token:{user_id}", f"accounts.memberships:{user_id}"


def kept(user: Any, read: Callable[[Any], T]) -> T:
    """``read(user)``'s answer for this person, from the cache while nothing changed, else read and kept."""
    token_key, kept_key = _keys(user.pk)
    return _kept(
        key=kept_key,
        tokens=[token_key],
        read=lambda: read(user),
        timeout=KEEP_SECONDS,
        guard=getattr(user, "date_joined", None),
    )


def forget(user_ids: Iterable[Any]) -> None:
    """Make what is kept for these people stale, now and when the surrounding transaction commits. Call
    it after the write (``core.kept.replace_tokens``)."""
    replace_tokens(_keys(user_id)[0] for user_id in user_ids)
