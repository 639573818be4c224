"""What follows a locker account when its owner changes their own address (``accounts.email_change``).

Keys belong to the account (``ProductKey.owner``), so they follow by themselves. What the orders keep by
address string moves with the account, so that ESD-15 keeps holding ("a locker account belongs to an
address; every order for that address shows in it") and nothing mailed later reaches the old mailbox:

- the orders delivered to the account (``end_customer``): their address is the account's; a resent welcome
  mail and the reseller's order page follow the person, not the mailbox they left;
- the orders for the old address not delivered yet (placed, awaiting stock): fulfilment gives keys to the
  account of the order's address, so left behind they would open a new account at the old mailbox.

Cancelled orders keep the address they were placed for (nothing is delivered by them). The move is
recorded on the account's event (how many orders), not as an ESD-14 correction: the reseller corrected
nothing, and the links mailed to the old address already died with the account's ``link_generation``.

An end customer cannot move to an address ESD-7 keeps from a reseller that ordered for them (its members',
its declared domains', staff's): ``email_change_refusal``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation

from ..errors import OrderError
from ..models import Order
from .placement import end_customer_address


def _orders_of(account: Any, email: str) -> Any:
    undelivered = Q(
        end_customer__isnull=True,
        end_customer_email=email,
        status__in=[Order.Status.PLACED, Order.Status.AWAITING_STOCK],
    )
    return Order.objects.filter(Q(end_customer=account) | undelivered)


def orders_follow_account(*, account: Any, old_email: str, new_email: str) -> int:
    """Move the account's orders, and the undelivered ones of its old address, to its new address."""
    ids = list(_orders_of(account, old_email).values_list("pk", flat=True))
    if ids:
        Order.objects.filter(pk__in=ids).update(end_customer_email=new_email, updated_at=timezone.now())
    return len(ids)


def email_change_refusal(*, account: Any, new_email: str) -> str | None:
    """ "esd7" when a reseller that ordered for this account would refuse ``new_email`` as its end
    customer's address (ESD-7: never the reseller itself); None otherwise, and for an account with no
    orders."""
    reseller_ids = set(_orders_of(account, account.email).values_list("reseller_id", flat=True).distinct())
    for reseller in Organisation.objects.filter(pk__in=reseller_ids):
        try:
            end_customer_address(new_email, "email", reseller)
        except OrderError:
            return "esd7"
    return None
