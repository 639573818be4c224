from __future__ import annotations

from typing import Any

from portal.tasking import enqueue_on_commit


def on_key_first_revealed(sender: Any, key_id: Any, at: Any, **kwargs: Any) -> None:
    """The first key of an order opened: record it once on the order (ESD-7: the reseller sees it)."""
    from .services import order_keys_accessed

    order_keys_accessed(key_id=key_id, at=at)


def on_stock_added(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """New keys in the locker: let the worker retry the orders waiting for them (ESD-5)."""
    from .tasks import retry_orders_for_products

    enqueue_on_commit(retry_orders_for_products, list(product_ids))
