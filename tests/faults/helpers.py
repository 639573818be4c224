"""Placing orders and counting what a fault left behind (ESD-4, ESD-6, ESD-9, ALL-5)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Count, F, Q

from locker.models import ProductKey
from orders.models import Allocation, Invoice, Order, OrderEvent, OrderLine
from orders.services import LineIn, order_place
from tests.factories import org_of


def place(user: Any, email: str, lines: Sequence[tuple[Any, int]]) -> Order:
    return order_place(
        reseller=org_of(user),
        placed_by=user,
        end_customer_email=email,
        lines=[LineIn(product_id=product.pk, quantity=qty) for product, qty in lines],
    )


def emails(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}@faults.test" for i in range(n)]


def ledger(order_ids: Iterable[int]) -> dict[str, int]:
    """Counts that must hold after any fault, for these orders.

    ``lines_wrong``: order lines whose number of allocated keys differs from their quantity (ESD-4/5: never
    half-delivered, never a key too many); ``keys_foreign``: allocated keys not owned by the order's customer
    or not of the line's product.
    """
    ids = list(order_ids)
    orders = Order.objects.filter(pk__in=ids)
    allocations = Allocation.objects.filter(line__order__in=ids)
    fulfilled_ids = list(orders.filter(status=Order.Status.FULFILLED).values_list("pk", flat=True))
    return {
        "orders": orders.count(),
        "fulfilled": len(fulfilled_ids),
        "units": sum(OrderLine.objects.filter(order__in=ids).values_list("quantity", flat=True)),
        "allocations": allocations.count(),
        "distinct_keys": allocations.values("key").distinct().count(),
        "lines_wrong": OrderLine.objects.filter(order__in=fulfilled_ids)
        .annotate(n=Count("allocations"))
        .exclude(n=F("quantity"))
        .count(),
        "lines_of_unfulfilled_with_keys": OrderLine.objects.filter(order__in=ids)
        .exclude(order__in=fulfilled_ids)
        .filter(allocations__isnull=False)
        .count(),
        "keys_foreign": allocations.filter(
            ~Q(key__owner_id=F("line__order__end_customer_id")) | ~Q(key__product_id=F("line__product_id"))
        ).count(),
        "invoices": Invoice.objects.filter(order__in=ids).count(),
        "fulfilled_events": OrderEvent.objects.filter(order__in=ids, kind=OrderEvent.Kind.FULFILLED).count(),
        "mail_sent": orders.filter(welcome_mail_status=Order.MailStatus.SENT).count(),
        "mail_sent_events": OrderEvent.objects.filter(
            order__in=ids, kind=OrderEvent.Kind.WELCOME_MAIL_SENT
        ).count(),
    }


def keys_allocated(product: Any) -> int:
    return ProductKey.objects.filter(product=product, status=ProductKey.Status.ALLOCATED).count()


def keys_available(product: Any) -> int:
    return ProductKey.objects.filter(product=product, status=ProductKey.Status.AVAILABLE).count()


_RECEIVED = re.compile(r"Task ([\w.]+)\[([0-9a-zA-Z-]+)\] received")


def received(log: str, task: str) -> list[str]:
    """Task ids of ``task`` in a worker log's "received" lines, one per delivery."""
    return [tid for name, tid in _RECEIVED.findall(log) if name == task]
