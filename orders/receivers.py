from __future__ import annotations

from typing import Any

from django.utils import timezone

from core.tasking import enqueue_on_commit

from .services import customer_password_set, customer_signed_in, order_keys_accessed
from .services.account_email import email_change_refusal, orders_follow_account


def on_key_first_revealed(sender: Any, key_id: Any, at: Any, **kwargs: Any) -> None:
    """The first key of an order opened: record it once on the order (ESD-7: the reseller sees it)."""

    order_keys_accessed(key_id=key_id, at=at)


def on_stock_added(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """New keys in the locker: let the worker retry the orders waiting for them (ESD-5)."""
    enqueue_on_commit("orders.tasks.retry_orders_for_products", list(product_ids))


def on_user_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A locker account signed in: each of its orders records it once (ESD-12; resellers see it per order)."""

    customer_signed_in(account=user, at=timezone.now())


def on_password_chosen(sender: Any, user: Any, at: Any, **kwargs: Any) -> None:
    """The account chose a password: each of its delivered orders records it once (ESD-12)."""

    customer_password_set(account=user, at=at)


def on_account_email_check(sender: Any, user: Any, email: str, **kwargs: Any) -> str | None:
    """An end customer may not move to an address ESD-7 keeps from the resellers that ordered for them."""
    return email_change_refusal(account=user, new_email=email)


def on_account_email_changed(
    sender: Any, user: Any, old_email: str, new_email: str, **kwargs: Any
) -> dict[str, int]:
    """A person moved their account to a new address: the orders kept by address follow (ESD-15)."""
    return {"orders": orders_follow_account(account=user, old_email=old_email, new_email=new_email)}
