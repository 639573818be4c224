"""Staff read orders, their lines and their history; nothing here can show or change a key."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Order, OrderEvent, OrderLine


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = (
        "at",
        "kind",
        "actor",
        "data",
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
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
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderLineInline, OrderEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
