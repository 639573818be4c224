"""Reads of ESD orders: the list, one order, what can be done with it, its invoice (ALL-1: always scoped)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
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
from django.utils import timezone

from accounts.models import Organisation
from catalog.models import Product
from core.dates import parse_day
from core.ids import id_or_none
from core.paging import format_cursor, keyset_page
from locker.selectors import stock_annotations

from .errors import OrderError
from .models import Allocation, EmailCorrection, Invoice, Order, OrderEvent, OrderLine, StaffAlert, Totals
from .rules import (
    cancel_refusal,
    correct_email_refusal,
    invoice_refusal,
    pending_correction,
    resend_refusal,
)

# What a search box and the dashboard's links may ask the list for, besides a status.
ATTENTION_MAIL_FAILED = "mail_failed"  # the welcome mail could not be delivered (the order is not cancelled)
ATTENTION_UNOPENED = "unopened"  # delivered at least ``UNOPENED_DAYS`` ago and no key opened yet
ATTENTION = (ATTENTION_MAIL_FAILED, ATTENTION_UNOPENED)


@dataclass(frozen=True)
class OrderFilter:
    """What the reseller asked the list for: a status, something that needs attention, and a search.

    ``search`` finds an order by its number (``123`` or ``#123``), the day it was placed (``2026-12-01``
    or the date as the language writes it), the start of the reseller's reference or the start of the end
    customer's address. ``unopened_days``
    is how long a delivery may stay unopened before it counts as needing attention.
    """

    status: str = ""
    attention: str = ""
    search: str = ""
    unopened_days: int = 7

    @property
    def query(self) -> str:
        """The filter as a URL query ("" for none), to keep it on the list's other links."""
        parts = {"status": self.status, "attention": self.attention, "q": self.search}
        return urlencode({name: value for name, value in parts.items() if value})


def _search(text: str) -> Q | None:
    """The condition a search box's text stands for (see ``OrderFilter``), or None for an empty box.

    Each alternative is served by an index starting with the reseller: its primary key for a number, its
    placing moment for a day (``order_reseller_recent_idx``), the address's and the reference's prefixes
    (``order_email_prefix_idx``, ``order_reseller_ref_idx``)."""
    text = text.strip()
    if not text:
        return None
    number = text.removeprefix("#").strip()
    # References are matched as typed and in capitals ("po-12" finds "PO-12"), each a prefix on its index.
    found = Q(end_customer_email__startswith=text.lower()) | Q(reseller_reference__startswith=text)
    if text.upper() != text:
        found |= Q(reseller_reference__startswith=text.upper())
    order_id = id_or_none(number)
    if order_id is not None:
        found |= Q(pk=order_id)
    day = parse_day(text)
    # The calendar's first and last days have no day before or after them in every time zone (and no order
    # was placed on either).
    if day is not None and date.min < day < date.max:
        start = timezone.make_aware(datetime.combine(day, time.min))
        found |= Q(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    return found


def order_list(
    *, organisation: Organisation, status: str | None = None, find: OrderFilter | None = None
) -> QuerySet[Order]:
    """The reseller's orders, newest first, with units and access flags (constant queries per page),
    narrowed to a status and to what ``find`` asks for."""
    qs = Order.objects.for_org(organisation).with_summary()
    find = find or OrderFilter(status=status or "")
    if find.status and find.status in Order.Status.values:
        qs = qs.filter(status=find.status)
    if find.attention == ATTENTION_MAIL_FAILED:
        qs = qs.filter(welcome_mail_status=Order.MailStatus.FAILED).exclude(status=Order.Status.CANCELLED)
    elif find.attention == ATTENTION_UNOPENED:
        qs = qs.filter(unopened_since(find.unopened_days))
    searched = _search(find.search)
    if searched is not None:
        qs = qs.filter(searched)
    return qs.order_by("-created_at", "-id")


def unopened_since(days: int) -> Q:
    """Delivered at least ``days`` ago and none of its keys opened by the customer yet (ESD-7)."""
    return Q(
        status=Order.Status.FULFILLED,
        keys_accessed_at__isnull=True,
        fulfilled_at__lte=timezone.now() - timedelta(days=days),
    )


@dataclass(frozen=True)
class OrderPage:
    """One page of the order list; ``newer`` and ``older`` are cursors for the neighbouring pages, or None.

    Each order is a dict of the columns a row shows (``_ROW_FIELDS``), ``units``, ``line_count`` and
    ``first_product_name``, stored on the order, and ``keys_accessed`` (whether the customer has
    opened any of its keys, ESD-7), as ``OrderQuerySet.with_summary`` annotates it: rows, not model
    instances, which a list of 25 would build for nothing.
    """

    orders: list[dict[str, Any]]
    newer: str | None
    older: str | None


# The list's order: newest first (``order_reseller_recent_idx``: reseller, created_at, id, descending).
_ORDER = ("created_at", "id")
_KINDS = (datetime, int)
# The columns a row of the list shows; the rest of the order is not read.
_ROW_FIELDS = (
    "id",
    "created_at",
    "end_customer_email",
    "reseller_reference",
    "status",
    "welcome_mail_status",
)


def order_cursor(order: dict[str, Any]) -> str:
    """A position in the list, "<microseconds since 1970>.<id>" (``core.paging``): exact, URL-safe."""
    return format_cursor([order[name] for name in _ORDER])


def order_page(
    *,
    organisation: Organisation,
    status: str | None = None,
    find: OrderFilter | None = None,
    before: str | None = None,
    after: str | None = None,
    size: int = 25,
) -> OrderPage:
    """``size`` of the reseller's orders, newest first, older than ``before`` or newer than ``after``.

    Keyset pagination (``core.paging``): a page reads ``size + 1`` rows from the (reseller, created_at, id)
    index wherever it is in the list, and no COUNT over all of the organisation's orders, so its cost does
    not grow with them. One query, scoped like every read of orders (``for_org``, ALL-1).
    """
    orders = order_list(organisation=organisation, status=status, find=find).values(
        *_ROW_FIELDS, "units", "keys_accessed", "line_count", first_product_name=F("first_product__name")
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


def order_export_rows(*, organisation: Organisation, find: OrderFilter) -> Iterator[tuple[Any, ...]]:
    """Every order the list shows for ``find``, newest first, as the rows of its CSV export: number, placed,
    end customer, products ("SKU × quantity" per line), units, status, welcome mail, keys first opened.

    Read in chunks with their lines (two queries per 2,000 orders), so an export of any size holds one
    chunk in memory. Never a key: an order's export is about the order (ESD-8)."""
    lines = Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("pk"))
    orders = order_list(organisation=organisation, find=find).prefetch_related(lines)
    for order in orders.iterator(chunk_size=2000):
        products = ", ".join(f"{line.product.sku} × {line.quantity}" for line in order.lines.all())
        yield (
            order.pk,
            order.created_at,
            order.end_customer_email,
            products,
            order.units,
            order.status_label,
            order.welcome_mail_label,
            order.keys_accessed_at,
        )


@dataclass(frozen=True)
class ResellerOverview:
    """What the reseller's home page shows: what needs attention, and the last orders."""

    awaiting_stock: int
    mail_failed: int
    unopened: int
    unopened_days: int
    recent: list[dict[str, Any]]


def reseller_overview(*, organisation: Organisation, unopened_days: int, recent: int = 5) -> ResellerOverview:
    """Counts of the reseller's orders awaiting stock, with a failed welcome mail, and delivered
    ``unopened_days`` ago or more without a key opened; and the ``recent`` newest orders as list rows.
    Four queries whatever the number of orders, each on an index of its own (ALL-1: scoped)."""
    mine = Order.objects.for_org(organisation)
    return ResellerOverview(
        awaiting_stock=mine.filter(status=Order.Status.AWAITING_STOCK).count(),
        mail_failed=order_list(
            organisation=organisation, find=OrderFilter(attention=ATTENTION_MAIL_FAILED)
        ).count(),
        unopened=mine.filter(unopened_since(unopened_days)).count(),
        unopened_days=unopened_days,
        recent=order_page(organisation=organisation, size=recent).orders,
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


@dataclass(frozen=True)
class StaffOverview:
    """What a member of staff sees on the home page before going to the admin."""

    alerts_today: int
    alerts_open: int
    low_stock: list[Any]


def staff_overview() -> StaffOverview:
    """Today's staff alerts, the ones still open, and the ESD products whose pool is below their warning
    threshold (ESD-5), with the keys available and awaited. Three queries."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    open_alerts = StaffAlert.objects.filter(acknowledged_at__isnull=True)
    low = (
        Product.objects.filter(esd_eligible=True, active=True)
        .annotate(**stock_annotations(), keys_awaited=keys_awaited_annotation())
        .filter(Q(low_stock=True))  # annotated by stock_annotations
        .order_by("vendor", "name")
    )
    return StaffOverview(
        alerts_today=StaffAlert.objects.filter(created_at__gte=today).count(),
        alerts_open=open_alerts.count(),
        low_stock=list(low[:20]),
    )
