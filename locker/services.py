"""Writes on the locker: import, allocation and reveal. The only code that unseals a product key."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Product

from . import crypto
from .models import ProductKey, RevealEvent
from .signals import stock_added

_KEY_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
_BATCH = 1000


def normalise_key(raw: str) -> str | None:
    """A key as the vendor spells it, upper-case without spaces; None when it cannot be a product key."""
    key = re.sub(r"\s+", "", raw or "").upper()
    if not 10 <= len(key) <= 64 or not _KEY_RE.match(key):
        return None
    return key


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: list[int] = field(default_factory=list)  # line numbers, 1-based
    malformed: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.duplicates) + len(self.malformed)


class KeyConflict(Exception):
    """Another transaction took a key this one selected; the caller retries."""


def keys_import(*, product: Product, lines: Iterable[str], imported_by: Any = None) -> ImportReport:
    """Seal and store new keys for ``product``; skip blank lines, report duplicates and malformed lines.

    Duplicates, in the file or already in the locker for any product, are found by keyed hash, never by
    decrypting. The keys that pass are stored in one transaction; the report says which lines were not.
    """
    report = ImportReport()
    pending: dict[str, tuple[int, str]] = {}  # fingerprint -> (line number, normalised key)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        key = normalise_key(raw)
        if key is None:
            report.malformed.append(number)
            continue
        fp = crypto.fingerprint(key)
        if fp in pending:
            report.duplicates.append(number)
            continue
        pending[fp] = (number, key)

    fps = list(pending)
    for start in range(0, len(fps), _BATCH):
        chunk = fps[start : start + _BATCH]
        for fp in ProductKey.objects.filter(fingerprint__in=chunk).values_list("fingerprint", flat=True):
            report.duplicates.append(pending.pop(fp)[0])
    report.duplicates.sort()

    now = timezone.now()
    rows = []
    for fp, (_number, key) in pending.items():
        record_id = uuid.uuid4()
        sealed = crypto.seal(kind=ProductKey.SEAL_KIND, record_id=str(record_id), plaintext=key)
        rows.append(
            ProductKey(
                id=record_id,
                product=product,
                ciphertext=sealed.ciphertext,
                wrapped_key=sealed.wrapped_key,
                master_key_id=sealed.master_key_id,
                fingerprint=fp,
                last5=key[-5:],
                imported_at=now,
                imported_by=imported_by,
            )
        )
    with transaction.atomic():
        ProductKey.objects.bulk_create(rows, batch_size=_BATCH)
        if rows:
            product_ids = [product.pk]
            transaction.on_commit(lambda: stock_added.send(sender=ProductKey, product_ids=product_ids))
    report.imported = len(rows)
    return report


def keys_allocate(*, product_id: int, quantity: int, owner: Any) -> list[uuid.UUID] | None:
    """Give ``quantity`` available keys of a product to ``owner``; None (and nothing taken) if short.

    Must run inside the caller's transaction. Rows are locked with SKIP LOCKED, so concurrent
    fulfilments never wait on each other's keys and never take the same key (ESD-4); the conditional
    update double-checks that on databases without row locks (SQLite).
    """
    assert transaction.get_connection().in_atomic_block, "keys_allocate needs the caller's transaction"
    ids = list(
        ProductKey.objects.available()
        .filter(product_id=product_id)
        .order_by("imported_at", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:quantity]
    )
    if len(ids) < quantity:
        return None
    taken = ProductKey.objects.filter(id__in=ids, status=ProductKey.Status.AVAILABLE).update(
        status=ProductKey.Status.ALLOCATED, owner=owner, allocated_at=timezone.now()
    )
    if taken != len(ids):
        raise KeyConflict
    return ids


def keys_available_counts(product_ids: Sequence[int]) -> dict[int, int]:
    from django.db.models import Count

    rows = (
        ProductKey.objects.available()
        .filter(product_id__in=product_ids)
        .values("product_id")
        .annotate(n=Count("id"))
    )
    return {r["product_id"]: r["n"] for r in rows}


@dataclass(frozen=True)
class Revealed:
    key: ProductKey
    plaintext: str

    def __repr__(self) -> str:  # never let a traceback or log print the key
        return f"Revealed(key={self.key.pk}, plaintext=<hidden>)"


@transaction.atomic
def key_reveal(*, key_id: uuid.UUID | str, user: Any, ip: str | None, user_agent: str) -> Revealed:
    """Unseal a key for its owner and record the reveal in the same transaction (LOCK-4, ESD-8).

    Raises ``ProductKey.DoesNotExist`` for anyone but the owner, so a guessed id learns nothing.
    """
    key = ProductKey.objects.for_owner(user).select_for_update().select_related("product").get(pk=key_id)
    now = timezone.now()
    RevealEvent.objects.create(key=key, user=user, at=now, ip=ip or None, user_agent=(user_agent or "")[:400])
    if key.revealed_at is None:
        key.revealed_at = now
        key.status = ProductKey.Status.REVEALED
        key.save(update_fields=["revealed_at", "status"])
    plaintext = crypto.unseal(
        kind=ProductKey.SEAL_KIND,
        record_id=str(key.pk),
        ciphertext=key.ciphertext,
        wrapped_key=key.wrapped_key,
        master_key_id=key.master_key_id,
    )
    return Revealed(key=key, plaintext=plaintext)
