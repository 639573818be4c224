"""The welcome mail sent again on request (ESD-12), and what the customer did since delivery (ESD-7, ESD-15).

Sending it is ``orders.mail`` (claimed by conditional update, recorded through ``MAIL_STATES``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Organisation
from core.tasking import enqueue_on_commit

from ..errors import OrderError
from ..models import Allocation, Order, OrderEvent
from ..rules import pending_correction, resend_refusal
from ..signals import nudge_after_commit
from .states import MAIL_STATES, M, S, locked_order, next_attempt


@transaction.atomic
def welcome_mail_resend(*, organisation: Organisation, order_id: int, actor: Any) -> Order:
    """Send the welcome mail again with a fresh link; the links this order mailed before die (ESD-12), those
    other orders mailed to the same account do not (ESD-15).

    At most WELCOME_MAIL_RESENDS_PER_HOUR per order, so a reseller cannot flood a customer's inbox.
    """
    order = locked_order(organisation, order_id)
    refusal = resend_refusal(order, pending=pending_correction(order))
    if refusal is not None:
        raise refusal
    since = timezone.now() - timedelta(hours=1)
    recent = order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_RESENT, at__gte=since).count()
    if recent >= settings.WELCOME_MAIL_RESENDS_PER_HOUR:
        raise OrderError(
            "resend_throttled",
            ngettext(
                "The welcome mail was already sent again %(n)d time in the last hour. Please wait before "
                "trying again.",
                "The welcome mail was already sent again %(n)d times in the last hour. Please wait before "
                "trying again.",
                recent,
            )
            % {"n": recent},
        )
    now = timezone.now()
    if order.welcome_mail_claimed_until and order.welcome_mail_claimed_until > now:
        raise OrderError(
            "mail_in_flight", _("The welcome mail is being sent right now. Try again in a minute.")
        )
    MAIL_STATES.move(
        order,
        M.QUEUED,
        event=partial(
            OrderEvent.objects.create, order=order, kind=OrderEvent.Kind.WELCOME_MAIL_RESENT, actor=actor
        ),
        now=now,
        link_generation=order.link_generation + 1,  # the order row is locked
        welcome_mail_error="",
        welcome_mail_attempts=0,
        updated_at=now,
        next_attempt_at=next_attempt(S.FULFILLED, now),
    )
    enqueue_on_commit("orders.tasks.send_welcome_mail", order.pk)
    return order


def _record_customer_step(account: Any, field: str, kind: str, at: Any) -> int:
    """The first time since delivery the account's customer did ``field``, stored on each of its fulfilled
    orders that had not seen it (ESD-15: every reseller sees it for its own orders, from its own delivery
    on, and nothing of what came before). One update and one insert whatever the number of orders."""
    with transaction.atomic():
        order_ids = list(
            Order.objects.select_for_update()
            .filter(
                end_customer=account, status=S.FULFILLED, fulfilled_at__lte=at, **{f"{field}__isnull": True}
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not order_ids:
            return 0
        Order.objects.filter(pk__in=order_ids).update(**{field: at})
        OrderEvent.objects.bulk_create(
            OrderEvent(order_id=pk, kind=kind, actor=account, at=at) for pk in order_ids
        )
    return len(order_ids)


def customer_password_set(*, account: Any, at: Any) -> int:
    """The customer chose a password (from any order's link, or "forgot password": ESD-12)."""
    return _record_customer_step(
        account, "customer_password_set_at", OrderEvent.Kind.CUSTOMER_PASSWORD_SET, at
    )


def customer_signed_in(*, account: Any, at: Any) -> int:
    return _record_customer_step(account, "customer_signed_in_at", OrderEvent.Kind.CUSTOMER_SIGNED_IN, at)


@transaction.atomic
def order_keys_accessed(*, key_id: Any, at: Any) -> bool:
    """Record, once per order, that the customer opened a key of it for the first time."""
    order_id = Allocation.objects.filter(key_id=key_id).values_list("line__order_id", flat=True).first()
    if order_id is None:
        return False
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.keys_accessed_at is not None or order.events.filter(kind=OrderEvent.Kind.KEYS_ACCESSED).exists():
        return False
    order.keys_accessed_at = at
    order.save(update_fields=["keys_accessed_at"])
    OrderEvent.objects.create(
        order=order, kind=OrderEvent.Kind.KEYS_ACCESSED, at=at, actor=order.end_customer
    )
    nudge_after_commit()
    return True
