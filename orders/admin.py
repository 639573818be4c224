"""Staff read orders, their lines and their history; nothing here can show or change a key."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from locker.models import KeyEvent, ProductKey, RevealEvent
from locker.selectors import stock_annotations

from .alerts import staff_alert_acknowledge
from .models import EmailCorrection, Invoice, Order, OrderLine, StaffAlert, VendorRequest
from .selectors import keys_awaited_annotation
from .services import OrderError, correction_approve, correction_refuse


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = (
        "product",
        "quantity",
        "masked_keys",
    )

    @admin.display(description=_("keys (masked)"))
    def masked_keys(self, obj: OrderLine) -> str:
        return ", ".join(
            a.key.masked
            for a in obj.allocations.select_related("key").defer("key__ciphertext", "key__wrapped_key")
        )


class VendorRequestInline(ReadOnlyInline):
    model = VendorRequest
    fields = readonly_fields = ("product", "quantity", "status", "attempts", "last_error", "updated_at")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders are viewed, never edited here: every change goes through its service (and its event). Its
    page shows one history, ``full_history`` (the order's events, the reveals and the keys' events)."""

    list_display = [
        "id",
        "reseller",
        "end_customer_email",
        "status",
        "welcome_mail_status",
        "created_at",
        "fulfilled_at",
    ]
    list_filter = ["status", "welcome_mail_status", "reseller"]
    search_fields = ["=id", "end_customer_email", "reseller__name"]
    list_select_related = ["reseller"]
    date_hierarchy = "created_at"
    readonly_fields = [*(f.name for f in Order._meta.fields), "invoice_link", "full_history"]
    inlines = [OrderLineInline, VendorRequestInline]

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj: Order) -> str:
        invoice = Invoice.objects.filter(order=obj).first()
        return invoice.number if invoice else "—"

    @admin.display(description=_("full history"))
    def full_history(self, obj: Order) -> str:
        """Everything that happened to the order and its keys, in time order (ALL-3, LOCK-4). Keys masked."""
        rows: list[tuple[Any, Any, Any, Any]] = []
        for e in obj.events.select_related("actor"):
            rows.append(
                (
                    e.at,
                    e.get_kind_display(),
                    e.actor.email if e.actor else _("system"),
                    ", ".join(f"{k}: {v}" for k, v in e.data.items()),
                )
            )
        keys = ProductKey.objects.filter(allocation__line__order=obj).only("id", "last5")
        masked = {k.pk: k.masked for k in keys}
        for r in RevealEvent.objects.filter(key_id__in=masked).select_related("user"):
            rows.append(
                (
                    r.at,
                    _("Key revealed"),
                    r.user.email,
                    f"{masked[r.key_id]} · {r.ip or '?'} · {r.user_agent}",
                )
            )
        for k in KeyEvent.objects.filter(key_id__in=masked).select_related("actor"):
            rows.append(
                (k.at, k.get_kind_display(), k.actor.email if k.actor else _("system"), masked[k.key_id])
            )
        rows.sort(key=lambda row: row[0])
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("when"),
            _("what"),
            _("who"),
            _("details"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (date_format(timezone.localtime(at), "DATETIME_FORMAT"), what, who, details)
                    for at, what, who, details in rows
                ),
            ),
        )


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "issued_at", "reseller", "order", "net_total", "gross_total", "currency"]
    list_filter = ["year", "reseller"]
    search_fields = ["=number", "reseller__name"]
    list_select_related = ["reseller", "order"]
    readonly_fields = [f.name for f in Invoice._meta.fields]


@admin.register(StaffAlert)
class StaffAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "order", "message", "acknowledged_at"]
    list_filter = [("acknowledged_at", admin.EmptyFieldListFilter), "kind"]
    list_select_related = ["order"]
    readonly_fields = ["kind", "order", "message", "created_at", "acknowledged_at", "acknowledged_by"]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Acknowledge the selected alerts"))
    def acknowledge(self, request: HttpRequest, queryset: Any) -> None:

        for alert_id in queryset.values_list("pk", flat=True):
            staff_alert_acknowledge(alert_id=alert_id, user=request.user)


@admin.register(EmailCorrection)
class EmailCorrectionAdmin(admin.ModelAdmin):
    """ESD-14: every address correction, those made after the welcome mail had been delivered marked (and,
    with ESD_CORRECTION_REVIEW, held until staff approve or refuse them here)."""

    list_display = [
        "requested_at",
        "order",
        "reseller",
        "from_email",
        "to_email",
        "after_welcome_mail",
        "status",
        "notice_sent_at",
        "reviewed_by",
    ]
    list_filter = ["status", "after_welcome_mail"]
    list_select_related = ["order__reseller", "reviewed_by"]
    search_fields = ["from_email", "to_email", "order__id"]
    readonly_fields = [
        "order",
        "from_email",
        "to_email",
        "requested_by",
        "requested_at",
        "after_welcome_mail",
        "status",
        "reviewed_by",
        "reviewed_at",
        "outcome",
        "notice_sent_at",
    ]
    fields = tuple(readonly_fields)
    actions = ["approve", "refuse"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("reseller"))
    def reseller(self, obj: EmailCorrection) -> str:
        return obj.order.reseller.name

    def _decide(self, request: HttpRequest, queryset: Any, approve: bool) -> None:

        for correction_id in queryset.filter(status=EmailCorrection.Status.PENDING_REVIEW).values_list(
            "pk", flat=True
        ):
            try:
                correction = (
                    correction_approve(correction_id=correction_id, actor=request.user)
                    if approve
                    else correction_refuse(correction_id=correction_id, actor=request.user)
                )
            except OrderError as exc:
                self.message_user(request, exc.message, messages.WARNING)
                continue
            if correction.status == EmailCorrection.Status.APPLIED:
                self.message_user(
                    request,
                    _("Order #%(id)s now goes to %(to)s; its keys moved.")
                    % {"id": correction.order_id, "to": correction.to_email},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("Order #%(id)s keeps its address: %(why)s")
                    % {"id": correction.order_id, "why": correction.outcome},
                    messages.WARNING,
                )

    @admin.action(
        description=_("Approve the selected corrections (the checks run again)"), permissions=["change"]
    )
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Refuse the selected corrections"), permissions=["change"])
    def refuse(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, approve=False)


# --- Products with their stock (ESD-4, ESD-5) ---------------------------------------------------------------
# Here rather than in catalog: the counts come from the locker and the orders, which sit above the catalog.
class LowStockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("low", _("Below the warning threshold")), ("awaited", _("Orders waiting"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "low":
            return queryset.filter(low_stock=True)
        if self.value() == "awaited":
            return queryset.filter(keys_awaited__gt=0)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "sku",
        "name",
        "vendor",
        "esd_eligible",
        "is_server",
        "unit_price",
        "available",
        "delivered",
        "awaited",
        "import_link",
    ]
    list_filter = [LowStockFilter, "vendor", "esd_eligible", "is_server", "segment", "active", "platform"]
    search_fields = ["sku", "name", "family"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return (
            super()
            .get_queryset(request)
            .annotate(**stock_annotations(), keys_awaited=keys_awaited_annotation())
        )

    @admin.display(description=_("available"), ordering="keys_available")
    def available(self, obj: Any) -> str:
        if obj.low_stock:
            return format_html(
                '<strong style="color:#b3261e" title="{}">{} ⚠</strong>', _("Low stock"), obj.keys_available
            )
        return str(obj.keys_available)

    @admin.display(description=_("delivered"), ordering="keys_delivered")
    def delivered(self, obj: Any) -> int:
        return int(obj.keys_delivered)

    @admin.display(description=_("awaited by orders"), ordering="keys_awaited")
    def awaited(self, obj: Any) -> int:
        return int(obj.keys_awaited)

    @admin.display(description=_("keys"))
    def import_link(self, obj: Product) -> str:
        if not obj.esd_eligible:
            return "—"
        url = reverse("admin:locker_keyimport_add") + f"?product={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Import keys"))
