from django.contrib import admin

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "vendor", "platform", "esd_eligible", "is_server", "segment", "active"]
    list_filter = ["vendor", "esd_eligible", "is_server", "segment", "active", "platform"]
    search_fields = ["sku", "name", "family"]
