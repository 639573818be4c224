"""Staff see keys masked and never decrypted (ESD-8); nobody edits sealed material by hand."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import ProductKey, RevealEvent


class RevealEventInline(admin.TabularInline):
    model = RevealEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "at",
        "user",
        "ip",
        "user_agent",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProductKey)
class ProductKeyAdmin(admin.ModelAdmin):
    list_display = ["masked_key", "product", "status", "owner", "imported_at", "allocated_at", "revealed_at"]
    list_filter = ["status", "product"]
    search_fields = ["last5", "owner__email", "product__sku"]
    list_select_related = ["product", "owner"]
    fields = readonly_fields = (
        "masked_key",
        "product",
        "status",
        "owner",
        "master_key_id",
        "imported_at",
        "imported_by",
        "allocated_at",
        "revealed_at",
    )
    inlines = [RevealEventInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("ciphertext", "wrapped_key")

    @admin.display(description=_("key"))
    def masked_key(self, obj: ProductKey) -> str:
        return obj.masked

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RevealEvent)
class RevealEventAdmin(admin.ModelAdmin):
    list_display = ["at", "key", "user", "ip"]
    list_select_related = ["key", "user"]
    search_fields = ["user__email", "key__last5"]
    readonly_fields = ["key", "user", "at", "ip", "user_agent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
