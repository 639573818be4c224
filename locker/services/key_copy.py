"""Storing new keys in bulk: the locker's one piece of hand-written SQL (PostgreSQL's COPY).

An import of 100,000 keys through ``bulk_create`` reached 0.09 of the raw AES-GCM + COPY rate, against a
target of 0.3; through COPY it reaches the target (bench/README.md, "Figures behind the code"). The rows
are plain tuples rather than model instances for the same reason. Elsewhere (SQLite) and for small
batches, ``bulk_create``. Tested in tests/locker/test_key_copy.py.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..models import ProductKey
from ._batches import BATCH

COLUMNS = (
    "id",
    "product_id",
    "ciphertext",
    "wrapped_key",
    "master_key_id",
    "fingerprint",
    "last5",
    "status",
    "imported_at",
    "imported_by_id",
)
_COPY_FROM = 200  # fewer rows than this go through bulk_create: COPY's own round trips cost more


def keys_copy(rows: list[tuple[Any, ...]]) -> None:
    """Store new keys (tuples in ``COLUMNS`` order), inside the caller's transaction."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or len(rows) < _COPY_FROM:
        ProductKey.objects.bulk_create(
            [ProductKey(**dict(zip(COLUMNS, row, strict=True))) for row in rows], batch_size=BATCH
        )
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor behind Django's wrapper
        with raw.copy(f"COPY {ProductKey._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
