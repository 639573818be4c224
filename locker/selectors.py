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
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from core.paging import format_cursor, keyset_page

from .models import ProductKey


@dataclass(frozen=True)
class LockerPage:
    """One page of a locker: ``keys`` as dicts (id, last5, status, allocated_at, revealed_at, purged_at,
    product_id, product_name, installer_url, order_id, seller: what a card shows, never the sealed key
    material), ``newer``
    and ``older`` cursors for the neighbouring pages (None at either end), and ``cursor``, the query that
    shows this page again ("" for the first page)."""

    keys: list[dict[str, Any]]
    newer: str | None
    older: str | None
    cursor: str


# A key's place in the locker: newest delivery first, a delivery's keys grouped by product.
_ORDER = ("allocated_at", "product_id", "id")
_KINDS = (datetime, int, uuid.UUID)
# What a card shows (jinja/locker/_key_cards.html), and nothing else. Rows rather than model instances:
# a page of 50 keys and their products costs half as much to read, and a template looks a dict's keys up
# faster than an instance's attributes (bench/README.md, "Figures behind the code").
_CARD_FIELDS = ("id", "last5", "status", "allocated_at", "revealed_at", "purged_at", "product_id")
_CARD_PRODUCT = {"product_name": F("product__name"), "installer_url": F("product__installer_url")}
# Which delivery a key came with, so that keys of two orders of the same product are told apart on the page.
# Read through the reverse relation the orders app declares (``Allocation.key``), by name: the locker
# imports nothing of orders, and a key imported but never delivered has none (both None).
_CARD_DELIVERY = {
    "order_id": F("allocation__line__order_id"),
    "seller": F("allocation__line__order__reseller__name"),
}


def locker_cursor(key: dict[str, Any]) -> str:
    """The position of a key of a page, as a cursor."""
    return format_cursor([key[name] for name in _ORDER])


def locker_keys(*, owner: Any) -> QuerySet[ProductKey, dict[str, Any]]:
    """The owner's keys, as rows of what a card shows: ``ProductKey.objects.for_owner(owner)`` (delivered
    or destroyed)."""
    keys = ProductKey.objects.for_owner(owner).filter(allocated_at__isnull=False)
    return keys.values(*_CARD_FIELDS, **_CARD_PRODUCT, **_CARD_DELIVERY)


def locker_page(*, owner: Any, before: str | None = None, after: str | None = None, size: int) -> LockerPage:
    """``size`` of the owner's keys, newest delivery first and a delivery's keys grouped by product, older
    than the ``before`` cursor or newer than the ``after`` one (neither, or a malformed one: the first page).

    Pages are found by position (``core.paging``): ``key_locker_idx`` (owner, allocated_at, product, id,
    all descending) starts at the position (one row comparison, so also deep inside one delivery, whose
    keys share their moment), gives the rows in order and stops after the page, so a page costs the same in
    a locker of 20 keys or 20,000 (bench/README.md, "Figures behind the code"). One query; two when the
    cursor points past the end (keys destroyed or moved since), which shows the first page instead.
    """
    page = keyset_page(
        locker_keys(owner=owner),
        fields=_ORDER,
        kinds=_KINDS,
        before=before,
        after=after,
        size=size,
        first_page_when_empty=True,
    )
    return LockerPage(keys=page.rows, newer=page.newer, older=page.older, cursor=page.here)


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
