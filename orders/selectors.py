"""Reads of ESD orders: the list, one order, what can be done with it, its invoice (ALL-1: always scoped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
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
from catalog.models import Product
from core.paging import format_cursor, keyset_page
from locker.selectors import stock_annotations

from .errors import OrderError
from .models import Allocation, EmailCorrection, Invoice, Order, OrderEvent, OrderLine, Totals
from .rules import (
    cancel_refusal,
    correct_email_refusal,
    invoice_refusal,
    pending_correction,
    resend_refusal,
)


def order_list(*, organisation: Organisation, status: str | None = None) -> QuerySet[Order]:
    """The reseller's orders, newest first, with units and access flags (constant queries per page)."""
    qs = Order.objects.for_org(organisation).with_summary()
    if status and status in Order.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class OrderPage:
    """One page of the order list; ``newer`` and ``older`` are cursors for the neighbouring pages, or None.

    Each order is a dict of the columns a row shows (``_ROW_FIELDS``) and ``units`` (ordered) and
    ``keys_accessed`` (whether the customer has opened any of its keys, ESD-7), as
    ``OrderQuerySet.with_summary`` annotates them: rows, not model instances, which a list of 25 would
    build for nothing.
    """

    orders: list[dict[str, Any]]
    newer: str | None
    older: str | None


# The list's order: newest first (``order_reseller_recent_idx``: reseller, created_at, id, descending).
_ORDER = ("created_at", "id")
_KINDS = (datetime, int)
# The columns a row of the list shows; the rest of the order is not read.
_ROW_FIELDS = ("id", "created_at", "end_customer_email", "status", "welcome_mail_status")


def order_cursor(order: dict[str, Any]) -> str:
    """A position in the list, "<microseconds since 1970>.<id>" (``core.paging``): exact, URL-safe."""
    return format_cursor([order[name] for name in _ORDER])


def order_page(
    *,
    organisation: Organisation,
    status: str | None = None,
    before: str | None = None,
    after: str | None = None,
    size: int = 25,
) -> OrderPage:
    """``size`` of the reseller's orders, newest first, older than ``before`` or newer than ``after``.

    Keyset pagination (``core.paging``): a page reads ``size + 1`` rows from the (reseller, created_at, id)
    index wherever it is in the list, and no COUNT over all of the organisation's orders, so its cost does
    not grow with them. One query, scoped like every read of orders (``for_org``, ALL-1).
    """
    orders = order_list(organisation=organisation, status=status).values(
        *_ROW_FIELDS, "units", "keys_accessed"
    )
    page = keyset_page(orders, fields=_ORDER, kinds=_KINDS, before=before, after=after, size=size)
    return OrderPage(orders=page.rows, newer=page.newer, older=page.older)


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


@dataclass(frozen=True)
class Action:
    """One thing a reseller may ask of an order: allowed, or refused with the code and reason the service
    answers when it is asked anyway."""

    allowed: bool
    code: str | None = None
    reason: str | None = None

    @classmethod
    def unless(cls, refusal: OrderError | None) -> Action:
        return cls(True) if refusal is None else cls(False, refusal.code, refusal.message)


@dataclass(frozen=True)
class OrderActions:
    """What can be done with an order now, and why not (orders.rules)."""

    resend_welcome_mail: Action  # ESD-12
    correct_email: Action  # ESD-14
    cancel: Action  # ESD-10
    download_invoice: Action  # ESD-6
    pending_correction: EmailCorrection | None  # waiting for staff: no resend, no other correction (ESD-14)


def order_actions(order: Order) -> OrderActions:
    """What the reseller can do with this order (an order of ``order_detail``), by the same rules the
    services refuse with: the order page shows these buttons, the API these ``actions``. Two queries (the
    pending correction, a revealed key)."""
    pending = pending_correction(order)
    return OrderActions(
        resend_welcome_mail=Action.unless(resend_refusal(order, pending=pending)),
        correct_email=Action.unless(correct_email_refusal(order, pending=pending)),
        cancel=Action.unless(cancel_refusal(order)),
        download_invoice=Action.unless(invoice_refusal(order)),
        pending_correction=pending,
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


@dataclass(frozen=True)
class ProductChoice:
    """A product the new-order form offers: what a reseller may see of it. How many keys the pool holds
    stays here (``_available``): the form says only whether a quantity is in stock (issue #13)."""

    pk: int
    name: str
    sku: str
    unit_price: Decimal
    _available: int = field(repr=False)

    def in_stock(self, quantity: int) -> bool:
        """Whether the pool holds ``quantity`` keys now (else the order waits for stock, ESD-5)."""
        return self._available >= max(quantity, 1)


def orderable_products() -> list[ProductChoice]:
    """What a reseller may order as ESD (ESD-1), in catalogue order, with prices and stock: one query
    however many products (``locker.selectors.stock_annotations``)."""
    rows = (
        Product.objects.esd_orderable()
        .annotate(available=stock_annotations()["keys_available"])
        .order_by("vendor", "name", "pk")
        .values_list("pk", "name", "sku", "unit_price", "available")
    )
    return [ProductChoice(*row) for row in rows]


def order_totals(order: Order) -> Totals:
    """Net, VAT and gross of an order of ``order_detail`` (its lines prefetched: no query). The invoice's
    figures once it is issued; before, the kept line prices with today's VAT rate."""
    invoice = getattr(order, "invoice", None)
    if invoice is not None:
        return Totals(
            net=invoice.net_total,
            vat=invoice.vat_total,
            gross=invoice.gross_total,
            vat_percent=invoice.vat_percent,
            currency=invoice.currency,
        )
    return Totals.of(
        (line.net_amount for line in order.lines.all()),
        vat_percent=Decimal(settings.INVOICE_VAT_PERCENT),
        currency=settings.INVOICE_CURRENCY,
    )


@dataclass(frozen=True)
class InvoicePage:
    """One page of the invoice list: each invoice a dict of ``_INVOICE_FIELDS``; cursors as ``OrderPage``."""

    invoices: list[dict[str, Any]]
    newer: str | None
    older: str | None


# The invoice list's order: newest first (``invoice_reseller_recent_idx``: reseller, issued_at, id).
_INVOICE_ORDER = ("issued_at", "id")
_INVOICE_FIELDS = (
    "id",
    "number",
    "issued_at",
    "order_id",
    "order__reseller_reference",
    "currency",
    "net_total",
    "vat_total",
    "gross_total",
)


def invoice_page(
    *, organisation: Organisation, before: str | None = None, after: str | None = None, size: int = 25
) -> InvoicePage:
    """``size`` of the reseller's invoices, newest first (keyset pages, ``core.paging``). One query, scoped
    to the organisation (ALL-1), whatever the number of invoices."""
    invoices = Invoice.objects.for_org(organisation).values(*_INVOICE_FIELDS)
    page = keyset_page(
        invoices, fields=_INVOICE_ORDER, kinds=(datetime, int), before=before, after=after, size=size
    )
    return InvoicePage(invoices=page.rows, newer=page.newer, older=page.older)
