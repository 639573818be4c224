from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Organisation

from .models import Invoice, Order, OrderEvent, OrderLine


def order_list(*, organisation: Organisation, status: str | None = None) -> QuerySet[Order]:
    """The reseller's orders, newest first, with units and access flags (constant queries per page)."""
    qs = Order.objects.for_org(organisation).with_summary()
    if status and status in Order.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def order_detail(*, organisation: Organisation, order_id: int) -> Order:
    """One order of this reseller, or Order.DoesNotExist, also for another organisation's id (ALL-1)."""
    from django.db.models import Count, Exists, OuterRef, Q, Subquery

    from .models import Allocation

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
