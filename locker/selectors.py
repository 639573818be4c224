from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Field,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from core.dates import epoch_micros, from_epoch_micros

from .models import ProductKey


@dataclass(frozen=True)
class LockerPage:
    """One page of a locker: ``keys`` as dicts (id, last5, status, allocated_at, revealed_at, purged_at,
    product_id, product_name, installer_url: what a card shows, never the sealed key material), ``newer``
    and ``older`` cursors for the neighbouring pages (None at either end), and ``cursor``, the query that
    shows this page again ("" for the first page)."""

    keys: list[dict[str, Any]]
    newer: str | None
    older: str | None
    cursor: str


_Position = tuple[datetime, int, uuid.UUID]  # a key's (allocated_at, product_id, id): its place in the locker
_BIGINT = 2**63
# What a card shows (templates/locker/_key_cards.html), and nothing else. Rows rather than model instances:
# a page of 50 keys and their products costs half as much to read, and a template looks a dict's keys up
# faster than an instance's attributes (bench/README.md, "Figures behind the code").
_CARD_FIELDS = ("id", "last5", "status", "allocated_at", "revealed_at", "purged_at", "product_id")
_CARD_PRODUCT = {"product_name": F("product__name"), "installer_url": F("product__installer_url")}


class _Row(Func):
    """A row of values, ``(a, b, c)``: compared with another row, one condition an index scan can start
    from (PostgreSQL, SQLite 3.15 and later)."""

    template = "(%(expressions)s)"
    output_field = Field()


def _position_of(position: _Position) -> _Row:
    at, product_id, key_id = position
    meta = ProductKey._meta
    return _Row(
        Value(at, output_field=meta.get_field("allocated_at")),
        Value(product_id, output_field=IntegerField()),
        Value(key_id, output_field=meta.get_field("id")),
    )


def _format_cursor(allocated_at: datetime, product_id: int, key_id: uuid.UUID) -> str:
    """A position, "<microseconds since 1970>.<product id>.<key id, 32 hex digits>": exact, URL-safe."""
    return f"{epoch_micros(allocated_at)}.{product_id}.{key_id.hex}"


def locker_cursor(key: dict[str, Any]) -> str:
    """The position of a key of a page."""
    return _format_cursor(key["allocated_at"], key["product_id"], key["id"])


def _parse_cursor(cursor: str | None) -> _Position | None:
    try:
        micros, product_id, key_id = (cursor or "").split(".")
        position = from_epoch_micros(int(micros)), int(product_id), uuid.UUID(hex=key_id)
    except (ValueError, OverflowError):
        return None  # a malformed cursor shows the first page
    return position if 0 < position[1] < _BIGINT else None


def locker_keys(
    *, owner: Any, older_than: _Position | None = None, newer_than: _Position | None = None
) -> QuerySet[ProductKey, dict[str, Any]]:
    """The owner's keys in locker order from a position on, as rows of what a card shows:
    ``ProductKey.objects.for_owner(owner)`` (delivered or destroyed), newest delivery first and a delivery's
    keys grouped by product (all three sort columns descending), older than ``older_than`` or, ascending,
    newer than ``newer_than``.

    Pages are found by position, not by number: ``key_locker_idx`` (owner, allocated_at, product, id, all
    descending) starts at the position (one row comparison, so also deep inside one delivery, whose keys
    share their moment), gives the rows in order and stops after the page, so a page costs the same in a
    locker of 20 keys or 20,000, and anywhere in it (bench/README.md, "Figures behind the code").
    """
    keys = ProductKey.objects.for_owner(owner).filter(allocated_at__isnull=False)
    order = ("-allocated_at", "-product_id", "-id")
    if older_than is not None or newer_than is not None:
        keys = keys.alias(position=_Row(F("allocated_at"), F("product_id"), F("id")))
        if older_than is not None:
            keys = keys.filter(position__lt=_position_of(older_than))
        else:
            assert newer_than is not None
            keys = keys.filter(position__gt=_position_of(newer_than))
            order = ("allocated_at", "product_id", "id")
    return keys.order_by(*order).values(*_CARD_FIELDS, **_CARD_PRODUCT)


def locker_page(*, owner: Any, before: str | None = None, after: str | None = None, size: int) -> LockerPage:
    """``size`` of the owner's keys, newest delivery first, older than the ``before`` cursor or newer than
    the ``after`` one (neither, or a malformed one: the first page). One query; two when the cursor points
    past the end (keys destroyed or moved since), which shows the first page instead."""
    older_than, newer_than = _parse_cursor(before), _parse_cursor(after)
    if older_than is not None:
        newer_than = None
    keys = list(locker_keys(owner=owner, older_than=older_than, newer_than=newer_than)[: size + 1])
    more = len(keys) > size
    keys = keys[:size]
    if newer_than is not None:
        keys.reverse()
        has_newer, has_older = more, True
    else:
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
