"""What may be done with an order, and why not: the rules the order page, the API and the services share.

Each ``*_refusal`` returns the ``OrderError`` the service raises when that action is asked for, or None when
the order allows it. ``orders.selectors.order_actions`` shows them to people (the buttons of the order page)
and to programs (the API's ``actions``); the services raise them, after taking their locks, so that they
decide on the state that is current. Checks of the moment (the resend rate limit, a welcome mail being sent
right now) belong to the services alone: they say "not now", not "not for this order".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .errors import OrderError
from .models import Allocation, EmailCorrection, Order

S = Order.Status


def pending_correction(order: Order) -> EmailCorrection | None:
    """The correction of this order waiting for staff, if any (at most one, by a constraint)."""
    return order.corrections.filter(status=EmailCorrection.Status.PENDING_REVIEW).first()


def correction_refusal(order: Order) -> str | None:
    """Why the end customer's address can no longer be changed (ESD-14), or None if it can.

    Someone has used the mail sent to the wrong address once a key of the order was revealed, or that
    locker account chose a password or logged in. A service asks with the order, its keys and its account
    locked.
    """
    if order.status == S.CANCELLED:
        return _("The order was cancelled.")
    if order.status != S.FULFILLED:
        return None
    if Allocation.objects.filter(line__order=order, key__revealed_at__isnull=False).exists():
        return _("A key of this order has already been revealed from the locker of that address.")
    account: Any = order.end_customer
    if account is not None and (
        account.password_set_at or account.last_login or account.has_usable_password()
    ):
        # The account is shared by every reseller's orders for the address (ESD-15): whether it was used
        # before this order or since is not this reseller's to learn, so one reason for both names neither.
        return _(
            "This address can no longer be corrected here. If it is wrong, ask the distributor's support "
            "(%(email)s), who will check it with the customer."
        ) % {"email": settings.PORTAL_SUPPORT_EMAIL}
    return None


def correct_email_refusal(order: Order, *, pending: EmailCorrection | None) -> OrderError | None:
    """ESD-14: the address may be corrected while nobody used the mail sent to it, and one correction at a
    time (``pending``: the order's correction waiting for staff)."""
    if pending is not None:
        return OrderError(
            "correction_pending",
            _("A correction of this order is already waiting for the distributor's review."),
        )
    refusal = correction_refusal(order)
    return OrderError("correction_refused", refusal) if refusal else None


def resend_refusal(order: Order, *, pending: EmailCorrection | None) -> OrderError | None:
    """ESD-12: the welcome mail can be sent again once the order is fulfilled, but not while a correction of
    its address waits for staff (ESD-14: no mail goes out meanwhile)."""
    if order.status != S.FULFILLED or order.end_customer_id is None:
        return OrderError("not_fulfilled", _("The welcome mail goes out once the order is fulfilled."))
    if pending is not None:
        return OrderError(
            "correction_pending",
            _(
                "The address of this order is waiting for the distributor's review; no mail goes out "
                "meanwhile."
            ),
        )
    return None


def cancel_refusal(order: Order) -> OrderError | None:
    """ESD-10: only an order still waiting for stock can be cancelled; delivered keys are never returned."""
    if order.status != S.AWAITING_STOCK:
        return OrderError(
            "not_cancellable",
            _("Only an order waiting for stock can be cancelled; delivered ESD products cannot be returned."),
        )
    return None


def invoice_refusal(order: Order) -> OrderError | None:
    """ESD-6: an invoice exists if and only if the order was fulfilled."""
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    if getattr(order, "invoice", None) is None:
        return OrderError("not_invoiced", _("The invoice is issued when the order is fulfilled."))
    return None
