from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from core.dates import epoch_micros, from_epoch_micros, parse_db_timestamp
from core.db import prepared_cursor

from .models import ProductKey


@dataclass(frozen=True)
class LockerPage:
    """One page of a locker: ``keys`` as dicts (id as text, last5, status, allocated_at, revealed_at,
    purged_at, product_id, product_name, installer_url), ``newer`` and ``older`` cursors for the
    neighbouring pages (None at either end), and ``cursor``, the query that shows this page again ("" for
    the first page)."""

    keys: list[dict[str, Any]]
    newer: str | None
    older: str | None
    cursor: str


# The locker is every end customer's page, so its one query is written out. It reads the keys of
# ``ProductKey.objects.for_owner(owner)`` (delivered or destroyed; never the sealed key material), newest
# delivery first, a delivery's keys grouped by product, in pages found by position rather than by number:
# ``key_locker_idx`` (owner, allocated_at, product, id, all descending) starts at the cursor, gives the
# page's rows in order and stops after them, so a page costs the same in a locker of 20 keys or 20,000, and
# anywhere in it (counting and sorting all of a customer's keys, as "page n of m" needs, costs more with
# every key; bench/README.md has the figures). Timestamps come as text (Django's timestamptz loader is
# pure Python), converted for the page's rows only.
_LOCKER_PAGE_SQL = """
    SELECT CAST(k.id AS VARCHAR), k.last5, k.status, CAST(k.allocated_at AS VARCHAR),
        CAST(k.revealed_at AS VARCHAR), CAST(k.purged_at AS VARCHAR), k.product_id, p.name, p.installer_url
    FROM locker_productkey k
    JOIN catalog_product p ON p.id = k.product_id
    WHERE k.owner_id = %s AND k.status IN ({statuses}) AND k.allocated_at IS NOT NULL{position}
    ORDER BY k.allocated_at {direction}, k.product_id {direction}, k.id {direction}
    LIMIT %s
"""
# Beyond a cursor (allocated_at, product_id, id): one row comparison, which the index scan starts from.
_OLDER = " AND (k.allocated_at, k.product_id, k.id) < (%s, %s, %s)"
_NEWER = " AND (k.allocated_at, k.product_id, k.id) > (%s, %s, %s)"
_BIGINT = 2**63
_Position = tuple[datetime, int, uuid.UUID]  # a key's (allocated_at, product_id, id)
_LOCKER_STATUSES = [str(status) for status in (*ProductKey.DELIVERED, ProductKey.Status.PURGED)]


def _format_cursor(allocated_at: datetime, product_id: int, key_id: uuid.UUID) -> str:
    """A position, "<microseconds since 1970>.<product id>.<key id, 32 hex digits>": exact, URL-safe."""
    return f"{epoch_micros(allocated_at)}.{product_id}.{key_id.hex}"


def locker_cursor(key: dict[str, Any]) -> str:
    """The position of a key of a page."""
    return _format_cursor(key["allocated_at"], key["product_id"], uuid.UUID(key["id"]))


def _parse_cursor(cursor: str | None) -> _Position | None:
    try:
        micros, product_id, key_id = (cursor or "").split(".")
        position = from_epoch_micros(int(micros)), int(product_id), uuid.UUID(hex=key_id)
    except (ValueError, OverflowError):
        return None  # a malformed cursor shows the first page
    return position if 0 < position[1] < _BIGINT else None


def _locker_rows(
    owner_id: Any, size: int, older_than: _Position | None, newer_than: _Position | None
) -> list[dict[str, Any]]:
    params: list[Any] = [owner_id, *_LOCKER_STATUSES]
    position = ""
    cursor = older_than or newer_than
    if cursor is not None:
        at = connection.ops.adapt_datetimefield_value(cursor[0])
        key_id = ProductKey._meta.pk.get_db_prep_value(cursor[2], connection)  # type: ignore[union-attr]
        position = _OLDER if older_than is not None else _NEWER
        params += [at, cursor[1], key_id]
    backwards = newer_than is not None and older_than is None
    sql = _LOCKER_PAGE_SQL.format(
        statuses=", ".join(["%s"] * len(_LOCKER_STATUSES)),
        position=position,
        direction="ASC" if backwards else "DESC",
    )
    with prepared_cursor() as db:
        db.execute(sql, [*params, size])
        rows = db.fetchall()
    keys = [
        {
            # The key's id as text, as it shows on the page (SQLite keeps it as 32 hex digits).
            "id": key_id if len(key_id) == 36 else str(uuid.UUID(key_id)),
            "last5": last5,
            "status": status,
            "allocated_at": parse_db_timestamp(allocated_at),
            "revealed_at": parse_db_timestamp(revealed_at),
            "purged_at": parse_db_timestamp(purged_at),
            "product_id": product_id,
            "product_name": name,
            "installer_url": installer_url,
        }
        for (
            key_id,
            last5,
            status,
            allocated_at,
            revealed_at,
            purged_at,
            product_id,
            name,
            installer_url,
        ) in rows
    ]
    if backwards:
        keys.reverse()
    return keys


def locker_page(*, owner: Any, before: str | None = None, after: str | None = None, size: int) -> LockerPage:
    """``size`` of the owner's keys, newest delivery first, older than the ``before`` cursor or newer than
    the ``after`` one (neither, or a malformed one: the first page). One query; two when the cursor points
    past the end (keys destroyed or moved since), which shows the first page instead."""
    older_than, newer_than = _parse_cursor(before), _parse_cursor(after)
    keys = _locker_rows(owner.pk, size + 1, older_than, newer_than)
    more = len(keys) > size
    if newer_than is not None and older_than is None:
        keys = keys[-size:] if more else keys
        has_newer, has_older = more, True
    else:
        keys = keys[:size]
        has_newer, has_older = older_than is not None, more
    if not keys and (older_than or newer_than):
        return locker_page(owner=owner, size=size)
    if older_than is not None:
        here = f"before={_format_cursor(*older_than)}"
    elif newer_than is not None:
        here = f"after={_format_cursor(*newer_than)}"
    else:
        here = ""
    return LockerPage(
        keys=keys,
        newer=locker_cursor(keys[0]) if has_newer and keys else None,
        older=locker_cursor(keys[-1]) if has_older and keys else None,
        cursor=here,
    )


def _count_per_product(qs: QuerySet[Any]) -> Coalesce:
    sub = qs.filter(product=OuterRef("pk")).order_by().values("product").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def stock_annotations() -> dict[str, Any]:
    """Per product: keys available, keys delivered, and whether the pool is below the product's warning
    threshold (ESD-5; the one place that rule is written). For annotating a Product queryset."""
    available = _count_per_product(ProductKey.objects.available())
    return {
        "keys_available": available,
        "keys_delivered": _count_per_product(ProductKey.objects.filter(status__in=ProductKey.DELIVERED)),
        "low_stock": ExpressionWrapper(
            Q(esd_eligible=True) & Q(low_stock_threshold__gt=available), output_field=BooleanField()
        ),
    }
