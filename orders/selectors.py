from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Organisation

from .models import Order, OrderEvent, OrderLine


def order_list(*, organisation: Organisation, status: str | None = None) -> QuerySet[Order]:
    """The reseller's orders, newest first, with units and access flags (constant queries per page)."""
    qs = Order.objects.for_org(organisation).with_summary()
    if status and status in Order.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def order_detail(*, organisation: Organisation, order_id: int) -> Order:
    """One order of this reseller, or Order.DoesNotExist, also for another organisation's id (ALL-1)."""
    from django.db.models import Count, Exists, OuterRef, Q

    from .models import Allocation

    lines = OrderLine.objects.select_related("product").annotate(
        delivered=Count("allocations"),
        accessed=Count("allocations", filter=Q(allocations__key__revealed_at__isnull=False)),
    )
    opened = Allocation.objects.filter(line__order=OuterRef("pk"), key__revealed_at__isnull=False)
    return (
        Order.objects.for_org(organisation)
        .annotate(keys_accessed=Exists(opened))
        .select_related("placed_by")
        .prefetch_related(
            Prefetch("lines", queryset=lines),
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
        )
        .get(pk=order_id)
    )
