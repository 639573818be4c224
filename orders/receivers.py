from __future__ import annotations

from typing import Any

from portal.tasking import enqueue_on_commit


def on_stock_added(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """New keys in the locker: let the worker retry the orders waiting for them (ESD-5)."""
    from .tasks import retry_orders_for_products

    enqueue_on_commit(retry_orders_for_products, list(product_ids))
