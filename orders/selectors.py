from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Organisation
from core.dates import epoch_micros, from_epoch_micros, parse_db_timestamp
from core.db import prepared_cursor

from .models import Allocation, Invoice, Order, OrderEvent, OrderLine


def order_list(*, organisation: Organisation, status: str | None = None) -> QuerySet[Order]:
    """The reseller's orders, newest first, with units and access flags (constant queries per page)."""
    qs = Order.objects.for_org(organisation).with_summary()
    if status and status in Order.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class OrderPage:
    """One page of the order list; ``newer`` and ``older`` are cursors for the neighbouring pages, or None.

    Each order is a dict: id, created_at, end_customer_email, status, welcome_mail_status, units (ordered)
    and keys_accessed (whether the customer has opened any of its keys, ESD-7).
    """

    orders: list[dict[str, Any]]
    newer: str | None
    older: str | None


def order_cursor(order: dict[str, Any]) -> str:
    """A position in the list, "<microseconds since 1970>.<id>": the sort key, exact, URL-safe."""
    return f"{epoch_micros(order['created_at'])}.{order['id']}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    try:
        micros, pk = (int(part) for part in (cursor or "").split("."))
        return from_epoch_micros(micros), pk
    except (ValueError, OverflowError):
        return None  # a malformed cursor shows the newest page


# The order list is the page resellers load most, so its one query is written out: built by the ORM it
# cost more than the rest of the page (7 M instructions against 0.4 M). It is ``order_list`` (units and
# keys_accessed as in ``OrderQuerySet.with_summary``), always scoped to one reseller like ``for_org``
# (ALL-1), and the timestamp comes as text because Django's timestamptz loader is pure Python.
_ORDER_PAGE_SQL = """
    SELECT o.id, CAST(o.created_at AS VARCHAR), o.end_customer_email, o.status, o.welcome_mail_status,
        (SELECT SUM(l.quantity) FROM orders_orderline l WHERE l.order_id = o.id),
        o.keys_accessed_at IS NOT NULL
    FROM orders_order o
    WHERE o.reseller_id = %s {conditions}
    ORDER BY o.created_at {direction}, o.id {direction}
    LIMIT %s
"""
# (created_at, id) beyond a cursor, written so the created_at bound can use the index as a range.
_OLDER = " AND o.created_at <= %s AND (o.created_at < %s OR o.id < %s)"
_NEWER = " AND o.created_at >= %s AND (o.created_at > %s OR o.id > %s)"


def order_page(
    *,
    organisation: Organisation,
    status: str | None = None,
    before: str | None = None,
    after: str | None = None,
    size: int = 25,
) -> OrderPage:
    """``size`` of the reseller's orders, newest first, older than ``before`` or newer than ``after``.

    Keyset pagination: a page reads ``size + 1`` rows from the (reseller, created_at, id) index wherever it
    is in the list, and no COUNT over all of the organisation's orders, so its cost does not grow with them.
    One query.
    """
    conditions = ""
    params: list[Any] = [organisation.pk]
    if status and status in Order.Status.values:
        conditions += " AND o.status = %s"
        params.append(status)
    older_than, newer_than = _parse_cursor(before), _parse_cursor(after)
    position = older_than or newer_than
    if position is not None:
        at = connection.ops.adapt_datetimefield_value(position[0])
        conditions += _OLDER if older_than is not None else _NEWER
        params += [at, at, position[1]]
    sql = _ORDER_PAGE_SQL.format(
        conditions=conditions, direction="ASC" if newer_than is not None and not older_than else "DESC"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*params, size + 1])
        rows = [
            {
                "id": pk,
                "created_at": parse_db_timestamp(created_at),
                "end_customer_email": email,
                "status": order_status,
                "welcome_mail_status": mail_status,
                "units": units or 0,
                "keys_accessed": bool(accessed),
            }
            for pk, created_at, email, order_status, mail_status, units, accessed in cursor.fetchall()
        ]
    more = len(rows) > size
    rows = rows[:size]
    if newer_than is not None and older_than is None:
        rows.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = older_than is not None, more
    return OrderPage(
        orders=rows,
        newer=order_cursor(rows[0]) if has_newer and rows else None,
        older=order_cursor(rows[-1]) if has_older and rows else None,
    )


def order_detail(*, organisation: Organisation, order_id: int) -> Order:
    """One order of this reseller, or Order.DoesNotExist, also for another organisation's id (ALL-1)."""

    lines = OrderLine.objects.select_related("product").annotate(
        delivered=Count("allocations"),
        accessed=Count("allocations", filter=Q(allocations__key__revealed_at__isnull=False)),
    )
    opened = Allocation.objects.filter(line__order=OuterRef("pk"), key__revealed_at__isnull=False)
    first_reveal = (
        Allocation.objects.filter(line__order=OuterRef("pk"), key__revealed_at__isnull=False)
        .order_by("key__revealed_at")
        .values("key__revealed_at")[:1]
    )
    return (
        Order.objects.for_org(organisation)
        .annotate(keys_accessed=Exists(opened), first_revealed_at=Subquery(first_reveal))
        .select_related("placed_by", "end_customer", "invoice")
        .prefetch_related(
            Prefetch("lines", queryset=lines),
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
        )
        .get(pk=order_id)
    )


def invoice_for_order(*, organisation: Organisation, order_id: int) -> Invoice:
    """The invoice of one of this reseller's orders, or Invoice.DoesNotExist (ALL-1)."""
    return Invoice.objects.for_org(organisation).select_related("order").get(order_id=order_id)


def keys_awaited_annotation() -> Coalesce:
    """Per product: units that orders waiting for stock still need (ESD-5). For a Product queryset."""
    awaited = (
        OrderLine.objects.filter(product=OuterRef("pk"), order__status=Order.Status.AWAITING_STOCK)
        .order_by()
        .values("product")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    return Coalesce(Subquery(awaited, output_field=IntegerField()), Value(0))
