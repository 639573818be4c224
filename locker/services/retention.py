"""Destroying key material after the retention period (ESD-11); the record of who had what stays."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..kept_cards import forget_owners
from ..models import KeyEvent, ProductKey
from ._batches import BATCH


def keys_purge_expired(*, now: datetime | None = None, batch_size: int = BATCH) -> int:
    """Destroy the key material of keys delivered more than LOCKER_RETENTION_DAYS ago.

    The record stays: product, owner, delivery and reveal history; only the sealed bytes go. Batched, each
    batch in its own transaction, rows taken with SKIP LOCKED so a reveal in progress is never blocked.
    """

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LOCKER_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                ProductKey.objects.filter(status__in=ProductKey.DELIVERED, allocated_at__lt=cutoff)
                .select_for_update(skip_locked=True)
                .values_list("id", "owner_id")[:batch_size]
            )
            if not rows:
                return total
            ids = [key_id for key_id, _ in rows]
            ProductKey.objects.filter(id__in=ids).update(
                status=ProductKey.Status.PURGED,
                purged_at=now,
                ciphertext=b"",
                wrapped_key=b"",
                master_key_id="",
            )
            KeyEvent.objects.bulk_create(
                [KeyEvent(key_id=k, kind=KeyEvent.Kind.PURGED, at=now) for k in ids], batch_size=BATCH
            )
            forget_owners({owner_id for _, owner_id in rows})
        total += len(ids)
