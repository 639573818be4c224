"""Writes on ESD orders: placing, fulfilling (ESD-3..5), the welcome mail (ESD-9) and the state machine."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, normalise_email
from accounts.services import locker_account_for_email
from catalog.models import Product
from locker.services import KeyConflict, keys_allocate, keys_available_counts
from portal.tasking import enqueue_on_commit

from .models import Allocation, Order, OrderEvent, OrderLine

logger = logging.getLogger(__name__)

MAX_UNITS_PER_LINE = 10_000

S = Order.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PLACED: {S.AWAITING_STOCK, S.FULFILLED},
    S.AWAITING_STOCK: {S.FULFILLED},
    S.FULFILLED: set(),
}


class OrderError(Exception):
    """A refusal the user caused and can act on. ``field`` names the form field it belongs to, if any."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: int


def order_transition(
    order: Order, to: str, *, actor: Any = None, data: dict[str, Any] | None = None, **fields: Any
) -> None:
    """The one place an order changes status. The caller holds the row lock (select_for_update)."""
    if to not in TRANSITIONS[order.status]:
        raise OrderError(
            "invalid_transition",
            _("This order cannot go from %(a)s to %(b)s.")
            % {"a": order.get_status_display(), "b": Order.Status(to).label},
        )
    now = timezone.now()
    order.status = to
    order.updated_at = now
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderEvent.objects.create(order=order, kind=to, actor=actor, at=now, data=data or {})


def order_place(
    *, reseller: Organisation, placed_by: Any, end_customer_email: str, lines: Sequence[LineIn]
) -> Order:
    """Record an order for one end customer (ESD-2) and hand it to the fulfilment worker (ESD-3)."""
    if reseller.kind != Organisation.Kind.RESELLER:
        raise OrderError("not_a_reseller", _("Only resellers can order."))
    email = normalise_email(end_customer_email)
    try:
        validate_email(email)
    except ValidationError:
        raise OrderError("invalid_email", _("Enter a valid e-mail address."), "end_customer_email") from None

    merged: OrderedDict[int, int] = OrderedDict()
    for line in lines:
        if not 1 <= line.quantity <= MAX_UNITS_PER_LINE:
            raise OrderError(
                "invalid_quantity",
                _("Each quantity must be between 1 and %(max)d.") % {"max": MAX_UNITS_PER_LINE},
                "lines",
            )
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if not merged:
        raise OrderError("no_lines", _("Add at least one product."), "lines")
    if any(q > MAX_UNITS_PER_LINE for q in merged.values()):
        raise OrderError(
            "invalid_quantity",
            _("Each quantity must be between 1 and %(max)d.") % {"max": MAX_UNITS_PER_LINE},
            "lines",
        )
    products = Product.objects.esd_orderable().in_bulk(list(merged))
    if len(products) != len(merged):
        raise OrderError(
            "product_not_orderable", _("Only ESD-eligible products can be ordered as ESD."), "lines"
        )

    with transaction.atomic():
        now = timezone.now()
        order = Order.objects.create(
            reseller=reseller, placed_by=placed_by, end_customer_email=email, created_at=now, updated_at=now
        )
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product_id=pid, quantity=qty) for pid, qty in merged.items()]
        )
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.PLACED,
            actor=placed_by,
            at=now,
            data={"lines": [{"sku": products[pid].sku, "quantity": qty} for pid, qty in merged.items()]},
        )
        from .tasks import fulfil_order

        enqueue_on_commit(fulfil_order, order.pk)
    return order


def order_fulfil(*, order_id: int) -> Order:
    """Deliver every key of the order into the customer's locker at once, or none (ESD-4, ESD-5).

    Idempotent: an order already fulfilled is returned untouched, so a task delivered twice does no harm.
    """
    for _attempt in range(5):
        try:
            return _fulfil_once(order_id)
        except KeyConflict:
            continue  # another transaction took a key we selected (SQLite only); select again
    return Order.objects.get(pk=order_id)


@transaction.atomic
def _fulfil_once(order_id: int) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in (S.PLACED, S.AWAITING_STOCK):
        return order
    lines = list(order.lines.select_related("product"))

    savepoint = transaction.savepoint()
    account = locker_account_for_email(email=order.end_customer_email)
    allocations: list[Allocation] = []
    short_line = None
    for line in lines:
        ids = keys_allocate(product_id=line.product_id, quantity=line.quantity, owner=account)
        if ids is None:
            short_line = line
            break
        allocations.extend(Allocation(line=line, key_id=key_id) for key_id in ids)

    if short_line is not None:
        # Never half-delivered: give back whatever this attempt took and wait for stock.
        transaction.savepoint_rollback(savepoint)
        if order.status == S.PLACED:
            available = keys_available_counts([line.product_id for line in lines])
            shortage = {
                line.product.sku: line.quantity - available.get(line.product_id, 0)
                for line in lines
                if line.quantity > available.get(line.product_id, 0)
            }
            order_transition(order, S.AWAITING_STOCK, data={"short": shortage})
        return order

    transaction.savepoint_commit(savepoint)
    Allocation.objects.bulk_create(allocations, batch_size=1000)
    now = timezone.now()
    order_transition(
        order,
        S.FULFILLED,
        data={"keys": len(allocations)},
        end_customer=account,
        fulfilled_at=now,
        welcome_mail_status=Order.MailStatus.QUEUED,
    )
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_QUEUED, at=order.updated_at)
    from .tasks import send_welcome_mail

    enqueue_on_commit(send_welcome_mail, order.pk)
    return order


def orders_retry_for_products(*, product_ids: Sequence[int]) -> int:
    """Re-enqueue fulfilment of every order waiting for one of these products (ESD-5)."""
    from .tasks import fulfil_order

    ids = list(
        Order.objects.filter(status=S.AWAITING_STOCK, lines__product_id__in=product_ids)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
        .distinct()
    )
    for order_id in ids:
        enqueue_on_commit(fulfil_order, order_id)
    return len(ids)


def orders_sweep(*, older_than_seconds: int | None = None) -> dict[str, int]:
    """Re-enqueue work that has not advanced, so a lost message costs minutes, never an order (ALL-5)."""
    from .tasks import fulfil_order, send_welcome_mail

    age = settings.ORDER_SWEEP_INTERVAL if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    stale = list(
        Order.objects.in_progress().filter(updated_at__lt=cutoff).values_list("pk", flat=True)[:5000]
    )
    # Orders waiting for stock are retried too: keys may have been freed by a rolled-back competitor.
    mails = list(
        Order.objects.filter(
            status=S.FULFILLED, welcome_mail_status=Order.MailStatus.QUEUED, updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:5000]
    )
    for order_id in stale:
        enqueue_on_commit(fulfil_order, order_id)
    for order_id in mails:
        enqueue_on_commit(send_welcome_mail, order_id)
    return {"fulfil": len(stale), "welcome_mail": len(mails)}
