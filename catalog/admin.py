"""Products, with the stock staff need to see (ESD-4, ESD-5): available, delivered, awaited, low-stock."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Product


def _count(qs: QuerySet[Any]) -> Coalesce:
    sub = qs.filter(product=OuterRef("pk")).order_by().values("product").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


class LowStockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("low", _("Below the warning threshold")), ("awaited", _("Orders waiting"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "low":
            return queryset.filter(esd_eligible=True, keys_available__lt=F("low_stock_threshold"))
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
        from locker.models import ProductKey
        from orders.models import Order, OrderLine

        awaited = (
            OrderLine.objects.filter(product=OuterRef("pk"), order__status=Order.Status.AWAITING_STOCK)
            .order_by()
            .values("product")
            .annotate(n=Sum("quantity"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                keys_available=_count(ProductKey.objects.available()),
                keys_delivered=_count(ProductKey.objects.filter(status__in=ProductKey.DELIVERED)),
                keys_awaited=Coalesce(Subquery(awaited, output_field=IntegerField()), Value(0)),
            )
        )

    @admin.display(description=_("available"), ordering="keys_available")
    def available(self, obj: Any) -> str:
        if obj.esd_eligible and obj.keys_available < obj.low_stock_threshold:
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
