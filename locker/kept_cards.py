"""The first page of each owner's locker, its cards rendered, kept in the shared cache (``core.kept``).

A locker changes only when its keys do, and its first page is what its owner opens again and again; its
cards cost more to read and render than the rest of the page together (bench/README.md). What a card shows
is kept valid by replacing tokens after every write that changes it:

- an owner's token (``forget_owners``): keys delivered to the owner or moved to or from them
  (``services.allocation``), a key's first reveal (``services.reveal``), keys destroyed at the end of their
  retention (``services.retention``);
- one token for every locker (``forget_all``): a product saved or deleted (its name and installer) and an
  organisation saved or deleted (the seller's name on a card), by signals (``apps``).

An entry is per language and time zone (labels and dates) and lives an hour at most, so a write that
reached the database some other way (SQL by hand) shows within the hour. A reveal's answer, the only page
with a key in clear, is never kept or served from here (``views``): the cards kept hold the masked key only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.utils import timezone
from django.utils.translation import get_language

from core.kept import kept, replace_tokens

KEEP_SECONDS = 3600
_EVERY_LOCKER = "locker.cards.token"

T = TypeVar("T")


def _owner_token(owner_id: Any) -> str:
    return f"locker.cards.token:{owner_id}"


def kept_first_page(owner: Any, read: Callable[[], T]) -> T:
    """``read()``'s answer (the first page's cards and cursors) for this owner, language and time zone."""
    return kept(
        key=f"locker.cards:{owner.pk}:{get_language()}:{timezone.get_current_timezone_name()}",
        tokens=[_owner_token(owner.pk), _EVERY_LOCKER],
        read=read,
        timeout=KEEP_SECONDS,
        guard=getattr(owner, "date_joined", None),
    )


def forget_owners(owner_ids: Iterable[Any]) -> None:
    """These owners' lockers changed (call after the write)."""
    replace_tokens(_owner_token(owner_id) for owner_id in owner_ids if owner_id is not None)


def forget_all(*args: Any, update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    """Every locker may have changed (a product or a seller); connected to signals, hence the arguments.
    A save of named fields none of which a card shows (an organisation's address) changes nothing."""
    if update_fields is not None and not {"name", "installer_url"} & set(update_fields):
        return
    replace_tokens([_EVERY_LOCKER])
