from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import ProductKey


def locker_keys(*, owner: Any) -> QuerySet[ProductKey]:
    """Every key delivered to this locker account, newest first, with its product (one query)."""
    return (
        ProductKey.objects.for_owner(owner)
        .select_related("product")
        .defer("ciphertext", "wrapped_key")
        .order_by("-allocated_at", "product__name", "id")
    )
