"""ESD orders: what a reseller ordered for which end customer, and everything that happened to it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, ExpressionWrapper, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Event
from core.sequences import YearlySequence

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """An amount rounded to the cent, half up: the one rounding of every price, line and total."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    """Net, VAT and gross of some lines, computed as the invoice computes them (ESD-6): each line's net
    amount rounded, summed, and the VAT of that sum rounded. The confirmation step, the order page and the
    invoice all use this, so the total a reseller confirms is the total invoiced."""

    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_percent: Decimal
    currency: str

    @classmethod
    def of(cls, net_amounts: Iterable[Decimal], *, vat_percent: Decimal, currency: str) -> Totals:
        net = sum((money(amount) for amount in net_amounts), Decimal("0.00"))
        vat = money(net * vat_percent / 100)
        return cls(net=net, vat=vat, gross=net + vat, vat_percent=vat_percent, currency=currency)


class OrderQuerySet(models.QuerySet["Order"]):
    def for_org(self, organisation: Any) -> OrderQuerySet:
        """Tenancy (ALL-1): the only door to a reseller's orders."""
        return self.filter(reseller=organisation)

    def with_summary(self) -> OrderQuerySet:
        """Whether the customer has opened any key (ESD-7), in the same query; the units, the number of
        lines and the first line's product are stored on the order (``refresh_line_summary``)."""
        opened = ExpressionWrapper(Q(keys_accessed_at__isnull=False), output_field=models.BooleanField())
        return self.annotate(keys_accessed=opened)

    def refresh_line_summary(self) -> int:
        """Store on these orders what their lines add up to: units, number of lines and the first line's
        product. One UPDATE; ``OrderLine``'s queryset, ``save`` and ``delete`` call it for every write."""
        lines = OrderLine.objects.filter(order=OuterRef("pk")).order_by()
        per_order = lines.values("order")
        return self.update(
            units=Coalesce(Subquery(per_order.annotate(n=Sum("quantity")).values("n")), 0),
            line_count=Coalesce(Subquery(per_order.annotate(n=Count("pk")).values("n")), 0),
            first_product=Subquery(lines.order_by("pk").values("product")[:1]),
        )


class OrderLineQuerySet(models.QuerySet["OrderLine"]):
    """Every bulk write of lines refreshes their orders' stored summary (``Order.units`` and the rest)."""

    def _orders(self) -> list[int]:
        return list(self.order_by().values_list("order_id", flat=True).distinct())

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        Order.objects.filter(pk__in={line.order_id for line in objs}).refresh_line_summary()
        return created

    def update(self, **kwargs: Any) -> int:
        orders = self._orders()
        updated = super().update(**kwargs)
        Order.objects.filter(pk__in=orders).refresh_line_summary()
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        orders = self._orders()
        deleted = super().delete()
        Order.objects.filter(pk__in=orders).refresh_line_summary()
        return deleted

    delete.alters_data = True  # type: ignore[attr-defined]


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        AWAITING_STOCK = "awaiting_stock", _("Awaiting stock")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    class MailStatus(models.TextChoices):
        NOT_SENT = "not_sent", _("Not sent yet")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    reseller = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="orders", verbose_name=_("reseller")
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("placed by")
    )
    end_customer_email = models.EmailField(_("end customer's e-mail"))
    # The reseller's own reference for the order (its purchase order number): shown on the order, the invoice
    # and in the API; free text, stripped, may be empty.
    reseller_reference = models.CharField(_("reseller reference"), max_length=64, blank=True, default="")
    end_customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="locker_orders",
        verbose_name=_("locker account"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLACED)
    created_at = models.DateTimeField(_("placed at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    welcome_mail_status = models.CharField(
        _("welcome mail"), max_length=20, choices=MailStatus.choices, default=MailStatus.NOT_SENT
    )
    welcome_mail_sent_at = models.DateTimeField(_("welcome mail sent at"), null=True, blank=True)
    welcome_mail_error = models.CharField(_("welcome mail error"), max_length=300, blank=True)
    welcome_mail_attempts = models.PositiveIntegerField(_("welcome mail attempts"), default=0)
    # A sender holds this while talking to the SMTP server, so duplicates of the task send nothing.
    welcome_mail_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the customer first opened a key of the order (ESD-7), set with the keys_accessed event. Stored, not
    # derived from the keys on every list: a lookup over all product keys let the planner choose a scan of
    # the whole key table for a page of 25 orders (bench/README.md, "Figures behind the code").
    keys_accessed_at = models.DateTimeField(_("keys first opened at"), null=True, blank=True, editable=False)
    # What the order list shows of the lines, stored when they are written (``refresh_line_summary``):
    # three subqueries per row made the list's query three times as costly (bench/README.md).
    units = models.PositiveIntegerField(_("units"), default=0, editable=False)
    line_count = models.PositiveIntegerField(_("order lines"), default=0, editable=False)
    first_product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_index=False,  # never looked up by: a line of the order holds the same product
    )
    # What the customer did after this order reached their locker (ESD-12, ESD-15): an account is shared by
    # every reseller's orders for its address, so the reseller sees these, never the account's own dates.
    customer_password_set_at = models.DateTimeField(
        _("customer set a password at"), null=True, blank=True, editable=False
    )
    customer_signed_in_at = models.DateTimeField(
        _("customer first signed in at"), null=True, blank=True, editable=False
    )
    # Part of this order's set-password links (orders.tokens): raised to kill them (a resend, a correction),
    # without touching the links other orders mailed to the same account.
    link_generation = models.PositiveIntegerField(default=0, editable=False)
    # When the sweeper should look again if nothing has moved the order on (ALL-5). Empty: nothing to do.
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["reseller", "-created_at", "-id"], name="order_reseller_recent_idx"),
            models.Index(fields=["reseller", "status"], name="order_reseller_status_idx"),
            models.Index(fields=["next_attempt_at"], name="order_next_attempt_idx"),
            models.Index(fields=["end_customer_email"], name="order_email_idx"),
            # Found by its start in the list's search (``LIKE 'PO-1%'``; the operator class as below).
            models.Index(
                fields=["reseller", "reseller_reference"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="order_reseller_ref_idx",
            ),
            # The list's search by the start of an address (``LIKE 'abc%'``; the operator class is
            # PostgreSQL's, ignored elsewhere), and the home page's two counts of what needs attention.
            models.Index(
                fields=["reseller", "end_customer_email"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="order_email_prefix_idx",
            ),
            models.Index(
                fields=["reseller"],
                condition=models.Q(welcome_mail_status="failed"),
                name="order_mail_failed_idx",
            ),
            models.Index(
                fields=["reseller", "fulfilled_at"],
                condition=models.Q(status="fulfilled", keys_accessed_at__isnull=True),
                name="order_unopened_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    # ``get_status_display()`` translates every choice to find one; a list of 25 orders showed it. These
    # translate the one they show.
    @property
    def status_label(self) -> str:
        return _label(self.Status, self.status)

    @property
    def welcome_mail_label(self) -> str:
        return _label(self.MailStatus, self.welcome_mail_status)


def _label(choices: type[models.TextChoices], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    # The product's net price when the order was placed, as the reseller confirmed it: the invoice uses it,
    # whatever the price list says by the time the order is fulfilled (orders.services.placement).
    unit_price = models.DecimalField(_("unit price (net)"), max_digits=10, decimal_places=2)

    objects = OrderLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.UniqueConstraint(fields=["order", "product"], name="orderline_one_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        Order.objects.filter(pk=self.order_id).refresh_line_summary()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        order_id = self.order_id
        deleted = super().delete(*args, **kwargs)
        Order.objects.filter(pk=order_id).refresh_line_summary()
        return deleted

    @property
    def net_amount(self) -> Decimal:
        return money(self.unit_price * self.quantity)


class Allocation(models.Model):
    """A key given to an order line. One row per key, enforced by the database (ESD-4)."""

    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="allocations")
    key = models.OneToOneField("locker.ProductKey", on_delete=models.PROTECT, related_name="allocation")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"key {self.key_id} → line {self.line_id}"


class OrderEvent(Event):
    """Append-only history of an order (ALL-3): what happened, who did it (empty: the system), when."""

    class Kind(models.TextChoices):
        PLACED = "placed", _("Order placed")
        AWAITING_STOCK = "awaiting_stock", _("Waiting for stock")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")
        CORRECTED = "corrected", _("End customer's address corrected")
        VENDOR_REQUESTED = "vendor_requested", _("Keys requested from the vendor")
        VENDOR_FAILED = "vendor_failed", _("Vendor request failed")
        WELCOME_MAIL_RESENT = "welcome_mail_resent", _("Welcome mail sent again on request")
        KEYS_ACCESSED = "keys_accessed", _("Customer opened the keys for the first time")
        WELCOME_MAIL_QUEUED = "welcome_mail_queued", _("Welcome mail queued")
        WELCOME_MAIL_SENT = "welcome_mail_sent", _("Welcome mail sent")
        WELCOME_MAIL_FAILED = "welcome_mail_failed", _("Welcome mail failed")
        CORRECTION_REQUESTED = (
            "correction_requested",
            _("Address correction waiting for the distributor's review"),
        )
        CORRECTION_REFUSED = "correction_refused", _("Address correction refused")
        CORRECTION_NOTICE_SENT = "correction_notice_sent", _("Previous address told of the correction")
        CUSTOMER_PASSWORD_SET = "customer_password_set", _("Customer set a password")
        CUSTOMER_SIGNED_IN = "customer_signed_in", _("Customer signed in for the first time since delivery")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="orderevent_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"

    @property
    def next_step(self) -> str:
        """What happens next after an event that stops or holds up the order, for the reseller reading the
        history; empty for the others. (Vendor failures are recorded only once the portal has given up
        retrying: ``orders.services.vendor_requests``.)"""
        step = _NEXT_STEPS.get(self.kind)
        return str(step) if step else ""


_NEXT_STEPS: dict[str, Any] = {
    OrderEvent.Kind.AWAITING_STOCK: _(
        "The order completes by itself as soon as the missing keys arrive; it is never delivered in part. "
        "You can cancel it until then."
    ),
    OrderEvent.Kind.VENDOR_REQUESTED: _(
        "The portal asks the vendor for the missing keys and retries by itself if the vendor does not answer."
    ),
    OrderEvent.Kind.VENDOR_FAILED: _(
        "The vendor did not supply the keys, even after repeated attempts. The distributor's staff have been "
        "alerted and will add the keys; the order then completes by itself. You can cancel it meanwhile."
    ),
    OrderEvent.Kind.WELCOME_MAIL_FAILED: _(
        "The welcome mail could not be delivered. Check the address: correct it if it is wrong, or send the "
        "mail again. The customer can also use “Forgot password” with this address."
    ),
    OrderEvent.Kind.CORRECTION_REQUESTED: _(
        "The keys move to the new address once the distributor approves the correction."
    ),
    OrderEvent.Kind.CORRECTION_REFUSED: _(
        "The distributor kept the previous address. If it is wrong, contact the distributor's support."
    ),
}


class InvoiceSequence(YearlySequence):
    """The last invoice number given in a year; ``core.sequences.take_numbers`` keeps it gapless (ESD-6)."""


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def for_org(self, organisation: Any) -> InvoiceQuerySet:
        return self.filter(reseller=organisation)


class Invoice(models.Model):
    """The reseller's invoice for a fulfilled order: exists if and only if the order was fulfilled (ESD-6)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    reseller = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="invoices")
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(_("number"), max_length=30, unique=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    currency = models.CharField(_("currency"), max_length=3)
    vat_percent = models.DecimalField(_("VAT %"), max_digits=5, decimal_places=2)
    net_total = models.DecimalField(_("net total"), max_digits=12, decimal_places=2)
    vat_total = models.DecimalField(_("VAT"), max_digits=12, decimal_places=2)
    gross_total = models.DecimalField(_("gross total"), max_digits=12, decimal_places=2)
    # Who was invoiced and by whom, as they stood on the day of issue.
    seller = models.JSONField(default=dict)
    buyer = models.JSONField(default=dict)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_year_sequence_unique")
        ]
        # The invoice list's order (orders.selectors.invoice_page): newest first, by issue and id.
        indexes = [models.Index(fields=["reseller", "-issued_at", "-id"], name="invoice_reseller_recent_idx")]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    sku = models.CharField(max_length=40)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    net_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class VendorRequest(models.Model):
    """Keys asked of the vendor for an order short of stock (ESD-4). One per order and product."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="vendor_requests")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="vendorrequest_one_per_line")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} for order {self.order_id} ({self.status})"


class StaffAlert(models.Model):
    """Something staff must look at (a welcome mail that could not be delivered, a vendor that gave up).

    Shown in the admin until acknowledged, and mailed to STAFF_ALERT_EMAILS when mail works."""

    class Kind(models.TextChoices):
        WELCOME_MAIL_FAILED = "welcome_mail_failed", _("Welcome mail could not be delivered")
        VENDOR_FAILED = "vendor_failed", _("Vendor did not supply keys")
        CORRECTION_REVIEW = "correction_review", _("Address correction waiting for review")
        CORRECTION_NOTICE_FAILED = (
            "correction_notice_failed",
            _("Previous address could not be told of a correction"),
        )
        DELIVERY_HELD = "delivery_held", _("Order held: its address belongs to staff or a partner")

    kind = models.CharField(max_length=40, choices=Kind.choices)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="alerts", null=True, blank=True)
    message = models.CharField(max_length=400)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["acknowledged_at", "-created_at"], name="alert_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class EmailCorrection(models.Model):
    """A reseller's correction of an order's end-customer address (ESD-14), and what became of it.

    Applied at once, or, when it comes after the welcome mail was accepted by the mail server and
    ``ESD_CORRECTION_REVIEW`` is on, held for a staff decision: the links sent to the old address die when
    the reseller asks, the keys move only on approval. Either way the old address is told (``notice_*``).
    """

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Waiting for review")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="corrections")
    from_email = models.EmailField(_("previous address"))
    to_email = models.EmailField(_("corrected address"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    after_welcome_mail = models.BooleanField(
        _("after the welcome mail"),
        default=False,
        help_text=_(
            "The welcome mail had been accepted by the mail server when the correction was asked for."
        ),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    notice_sent_at = models.DateTimeField(_("previous address told at"), null=True, blank=True)
    notice_attempts = models.PositiveIntegerField(default=0, editable=False)
    notice_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When the sweeper should try the notice again if no task sends it first; empty once sent or given up.
    notice_next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("address correction")
        verbose_name_plural = _("address corrections")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status="pending_review"),
                name="correction_one_pending_per_order",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-requested_at"], name="correction_status_idx"),
            models.Index(fields=["after_welcome_mail", "-requested_at"], name="correction_after_mail_idx"),
            models.Index(
                fields=["notice_next_attempt_at"],
                name="correction_notice_due_idx",
                condition=models.Q(notice_next_attempt_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id}: {self.get_status_display()}"
