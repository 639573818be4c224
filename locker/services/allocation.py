"""Keys leaving the pool: reserved and assigned to their owners (ESD-4), and moved to another locker
account when an order's address is corrected (ESD-14)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from ..kept_cards import forget_owners
from ..models import KeyEvent, ProductKey
from ._batches import BATCH, LOOKUP_BATCH


class KeyConflict(Exception):
    """Another transaction took a key this one selected; the caller retries."""


class KeysShort(Exception):
    """Fewer keys could be taken than asked for; ``got`` is how many were free for this transaction."""

    def __init__(self, got: int) -> None:
        super().__init__(f"only {got} keys free")
        self.got = got


def keys_allocate(*, product_id: int, quantity: int, owner: Any) -> list[uuid.UUID]:
    """Give ``quantity`` available keys of a product to ``owner``; raise KeysShort (taking nothing) if short.

    Must run inside the caller's transaction (see ``keys_reserve`` and ``keys_assign``).
    """
    ids = keys_reserve(product_id=product_id, quantity=quantity)
    if len(ids) < quantity:
        raise KeysShort(len(ids))
    keys_assign({owner.pk: ids})
    return ids


def keys_reserve(*, product_id: int, quantity: int) -> list[uuid.UUID]:
    """Lock up to ``quantity`` available keys of a product, oldest first, until the caller's transaction ends.

    Rows are locked with SKIP LOCKED, so concurrent fulfilments never wait on each other's keys and never
    take the same key (ESD-4). Keys the caller does not assign stay available when its transaction ends.
    """
    assert transaction.get_connection().in_atomic_block, "keys_reserve needs the caller's transaction"
    return list(
        ProductKey.objects.available()
        .filter(product_id=product_id)
        .order_by("imported_at", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:quantity]
    )


def keys_assign(key_ids_by_owner: dict[Any, list[uuid.UUID]]) -> None:
    """Give reserved keys to their owners in one UPDATE, whoever the owners are (one per order of a batch).

    The conditional update double-checks availability on databases without row locks (SQLite): if another
    transaction took one of the keys, KeyConflict is raised and the caller's transaction must roll back.
    """

    assert transaction.get_connection().in_atomic_block, "keys_assign needs the caller's transaction"
    owner_of = {key_id: owner for owner, ids in key_ids_by_owner.items() for key_id in ids}
    all_ids = list(owner_of)
    if len(all_ids) != sum(len(ids) for ids in key_ids_by_owner.values()):
        raise KeyConflict  # one key for two owners
    if not all_ids:
        return
    taken, now = 0, timezone.now()
    for start in range(0, len(all_ids), LOOKUP_BATCH):
        chunk = all_ids[start : start + LOOKUP_BATCH]
        owners = {owner_of[key_id] for key_id in chunk}
        if len(owners) == 1:
            owner: Any = next(iter(owners))
        else:  # one CASE for the owners of this chunk's keys only
            by_owner: dict[Any, list[uuid.UUID]] = {}
            for key_id in chunk:
                by_owner.setdefault(owner_of[key_id], []).append(key_id)
            owner = Case(*(When(id__in=ids, then=Value(pk)) for pk, ids in by_owner.items()))
        taken += ProductKey.objects.filter(id__in=chunk, status=ProductKey.Status.AVAILABLE).update(
            status=ProductKey.Status.ALLOCATED, owner_id=owner, allocated_at=now
        )
    if taken != len(all_ids):
        raise KeyConflict
    forget_owners(key_ids_by_owner)


def keys_reassign(*, key_ids: Sequence[uuid.UUID], new_owner: Any, actor: Any, data: dict[str, Any]) -> int:
    """Move delivered keys to another locker account and record it per key (ESD-14). Caller holds the row
    locks."""
    now = timezone.now()
    keys = ProductKey.objects.filter(id__in=key_ids, status__in=ProductKey.DELIVERED)
    old_owners = set(keys.values_list("owner_id", flat=True).distinct())
    moved = keys.update(owner=new_owner)
    forget_owners([*old_owners, new_owner.pk])
    KeyEvent.objects.bulk_create(
        [KeyEvent(key_id=k, kind=KeyEvent.Kind.REASSIGNED, actor=actor, at=now, data=data) for k in key_ids],
        batch_size=BATCH,
    )
    return moved
