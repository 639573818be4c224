from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from orders.models import Invoice, InvoiceLine, Order
from orders.selectors import OrderActions, order_actions
from orders.services import MAX_UNITS_PER_LINE, RESELLER_REFERENCE_MAX, OrderError, reseller_reference_clean

RESELLER_REFERENCE_HELP = _(
    "Your own reference for the order, e.g. your purchase order number: optional, at most 64 characters, "
    "surrounding spaces removed. Shown on the order page and on the invoice."
)


def _absolute(context: dict[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "vendor",
            "family",
            "edition",
            "platform",
            "installer_url",
            "unit_price",
            "is_subscription",
        ]


class LineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS_PER_LINE)


class OrderCreateSerializer(serializers.Serializer):
    end_customer_email = serializers.EmailField(max_length=254)
    reseller_reference = serializers.CharField(
        max_length=RESELLER_REFERENCE_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text=RESELLER_REFERENCE_HELP,
    )
    lines = LineInSerializer(many=True, allow_empty=False, max_length=50)

    def validate_reseller_reference(self, value: str) -> str:
        """The service's own check (``reseller_reference_clean``), so that the problem names the field."""
        try:
            return reseller_reference_clean(value)
        except OrderError as exc:
            raise serializers.ValidationError(str(exc.message), code=exc.code) from None


class CorrectEmailSerializer(serializers.Serializer):
    new_email = serializers.EmailField(max_length=254)


class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text=_("The net unit price kept when the order was placed; the invoice uses it."),
    )
    delivered = serializers.IntegerField(
        required=False, help_text=_("Keys delivered to the customer's locker.")
    )
    opened = serializers.IntegerField(
        source="accessed", required=False, help_text=_("Keys the customer has revealed.")
    )


class WelcomeMailSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.MailStatus.choices, source="welcome_mail_status")
    sent_at = serializers.DateTimeField(source="welcome_mail_sent_at", allow_null=True)
    error = serializers.CharField(source="welcome_mail_error", allow_blank=True)
    attempts = serializers.IntegerField(source="welcome_mail_attempts")


class DeliverySerializer(serializers.Serializer):
    """The delivery tracker (ESD-12): what this order's customer did since its delivery, never the shared
    account's earlier facts (ESD-15); never a key (ESD-7)."""

    welcome_mail = WelcomeMailSerializer(source="*")
    password_set_at = serializers.DateTimeField(
        source="customer_password_set_at",
        allow_null=True,
        help_text="When the customer set a password, if that happened after this order was delivered.",
    )
    signed_in_at = serializers.DateTimeField(
        source="customer_signed_in_at",
        allow_null=True,
        help_text="When the customer first signed in after this order was delivered.",
    )
    keys_accessed = serializers.BooleanField()
    first_accessed_at = serializers.DateTimeField(source="first_revealed_at", allow_null=True)


class InvoiceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, invoice: Invoice) -> str:
        return _absolute(self.context, reverse("api:invoice-pdf", args=[invoice.pk]))


class OrderBaseSerializer(serializers.Serializer):
    """What every view of an order shows."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    end_customer_email = serializers.EmailField()
    reseller_reference = serializers.CharField(help_text=RESELLER_REFERENCE_HELP)
    created_at = serializers.DateTimeField()
    fulfilled_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class OrderSummarySerializer(OrderBaseSerializer):
    units = serializers.IntegerField()
    welcome_mail_status = serializers.ChoiceField(choices=Order.MailStatus.choices)
    keys_accessed = serializers.BooleanField()
    url = serializers.SerializerMethodField()

    def get_url(self, order: Order) -> str:
        return _absolute(self.context, reverse("api:order-detail", args=[order.pk]))


class PendingCorrectionSerializer(serializers.Serializer):
    """An address correction waiting for the distributor's review (ESD-14)."""

    new_email = serializers.EmailField(source="to_email")
    requested_at = serializers.DateTimeField()


class ActionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    code = serializers.CharField(
        allow_null=True, help_text=_("Why not, for programs: the problem code the action answers now.")
    )
    reason = serializers.CharField(allow_null=True, help_text=_("Why not, for people."))


class OrderActionsSerializer(serializers.Serializer):
    """What can be done with the order now, by the rules the action endpoints answer with; the portal's
    order page shows the same buttons."""

    resend_welcome_mail = ActionSerializer(help_text=_("POST …/resend-welcome-mail/ (ESD-12)."))
    correct_email = ActionSerializer(help_text=_("POST …/correct-email/ (ESD-14)."))
    cancel = ActionSerializer(help_text=_("POST …/cancel/ (ESD-10)."))
    download_invoice = ActionSerializer(help_text=_("The invoice's pdf_url (ESD-6)."))


class OrderDetailSerializer(OrderBaseSerializer):
    lines = OrderLineOutSerializer(many=True, source="lines.all")
    delivery = DeliverySerializer(source="*")
    invoice = serializers.SerializerMethodField()
    pending_correction = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    def _actions(self, order: Order) -> OrderActions:
        """The order's actions, found once for both fields that show them."""
        found: dict[int, OrderActions] = self.context.setdefault("_order_actions", {})
        if order.pk not in found:
            found[order.pk] = order_actions(order)
        return found[order.pk]

    @extend_schema_field(PendingCorrectionSerializer(allow_null=True))
    def get_pending_correction(self, order: Order) -> Any:
        correction = self._actions(order).pending_correction
        return PendingCorrectionSerializer(correction).data if correction else None

    @extend_schema_field(OrderActionsSerializer)
    def get_actions(self, order: Order) -> Any:
        return OrderActionsSerializer(self._actions(order)).data

    @extend_schema_field(InvoiceRefSerializer(allow_null=True))
    def get_invoice(self, order: Order) -> Any:
        invoice = getattr(order, "invoice", None) if hasattr(order, "invoice") else None
        return InvoiceRefSerializer(invoice, context=self.context).data if invoice else None


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["sku", "description", "quantity", "unit_price", "net_amount"]


class InvoiceSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id")
    reseller_reference = serializers.CharField(
        source="order.reseller_reference", help_text=_("The order's reference (your PO number).")
    )
    lines = InvoiceLineSerializer(many=True)
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "order",
            "reseller_reference",
            "issued_at",
            "currency",
            "vat_percent",
            "net_total",
            "vat_total",
            "gross_total",
            "lines",
            "pdf_url",
        ]

    def get_pdf_url(self, invoice: Invoice) -> str:
        return _absolute(self.context, reverse("api:invoice-pdf", args=[invoice.pk]))


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text=_("The field, e.g. lines[0].sku."))
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; ``code`` is stable and meant for programs."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = ProblemFieldErrorSerializer(many=True, required=False)
    retry_after = serializers.CharField(required=False, allow_null=True)


def paginated(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The cursor page shape: next/previous URLs and the results."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


ProductPageSerializer = paginated("ProductPage", ProductSerializer)
OrderPageSerializer = paginated("OrderPage", OrderSummarySerializer)
InvoicePageSerializer = paginated("InvoicePage", InvoiceSerializer)
