from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from portal.dates import parse_db_timestamp
from portal.db import prepared_cursor

from .models import ProductKey


@dataclass(frozen=True)
class LockerPage:
    """One page of a locker: ``keys`` as dicts (id as text, last5, status, allocated_at, revealed_at,
    purged_at, product_name, installer_url), its 1-based ``number`` and how many pages there are."""

    keys: list[dict[str, Any]]
    number: int
    num_pages: int


# The locker is every end customer's page, so its one query is written out: built by the ORM (with a
# COUNT for the paginator) it cost more than the rest of the page. It reads the keys of
# ``ProductKey.objects.for_owner(owner)`` (delivered or destroyed), newest delivery first, then by product
# name and id, never the sealed key material, and how many there are in the same query. Timestamps come
# as text (Django's timestamptz loader is pure Python), converted for the page's rows only: converting
# all of a large locker's cost more than the rest of the query.
_LOCKER_PAGE_SQL = """
    SELECT CAST(page.id AS VARCHAR), page.last5, page.status, CAST(page.allocated_at AS VARCHAR),
        CAST(page.revealed_at AS VARCHAR), CAST(page.purged_at AS VARCHAR), page.name, page.installer_url,
        page.total
    FROM (
        SELECT k.id, k.last5, k.status, k.allocated_at, k.revealed_at, k.purged_at, p.name, p.installer_url,
            COUNT(*) OVER () AS total
        FROM locker_productkey k
        JOIN catalog_product p ON p.id = k.product_id
        WHERE k.owner_id = %s AND k.status IN ({statuses})
        ORDER BY k.allocated_at DESC, p.name ASC, k.id ASC
        LIMIT %s OFFSET %s
    ) AS page
    ORDER BY page.allocated_at DESC, page.name ASC, page.id ASC
"""
_LOCKER_STATUSES = [str(status) for status in (*ProductKey.DELIVERED, ProductKey.Status.PURGED)]


def _locker_rows(owner_id: Any, size: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    sql = _LOCKER_PAGE_SQL.format(statuses=", ".join(["%s"] * len(_LOCKER_STATUSES)))
    with prepared_cursor() as cursor:
        cursor.execute(sql, [owner_id, *_LOCKER_STATUSES, size, offset])
        rows = cursor.fetchall()
    keys = [
        {
            # The key's id as text, as it shows on the page (SQLite keeps it as 32 hex digits).
            "id": key_id if len(key_id) == 36 else str(uuid.UUID(key_id)),
            "last5": last5,
            "status": status,
            "allocated_at": parse_db_timestamp(allocated_at),
            "revealed_at": parse_db_timestamp(revealed_at),
            "purged_at": parse_db_timestamp(purged_at),
            "product_name": name,
            "installer_url": installer_url,
        }
        for key_id, last5, status, allocated_at, revealed_at, purged_at, name, installer_url, _ in rows
    ]
    return keys, (rows[0][-1] if rows else 0)


def locker_page(*, owner: Any, number: Any, size: int) -> LockerPage:
    """One page of the owner's keys, newest first; like ``Paginator.get_page``, a page number that is not
    a number shows the first page and one past the end the last. One query (two past the end)."""
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    keys, total = _locker_rows(owner.pk, size, (number - 1) * size)
    if not keys and number > 1:
        _, total = _locker_rows(owner.pk, 1, 0)
        number = max((total + size - 1) // size, 1)
        keys, total = _locker_rows(owner.pk, size, (number - 1) * size)
    return LockerPage(keys=keys, number=number, num_pages=max((total + size - 1) // size, 1))
