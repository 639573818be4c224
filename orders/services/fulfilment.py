"""Fulfilment: every key of an order into the customer's locker at once, or none (ESD-3..6)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import normalise_email
from accounts.services import addresses_barred_from_keys, locker_accounts_for_emails
from core.tasking import (
    coalesced_started,
    enqueue_coalesced,
    enqueue_coalesced_on_commit,
    enqueue_on_commit,
)
from locker.services import KeyConflict, keys_assign, keys_reserve

from ..alerts import staff_alert_raise
from ..models import Allocation, Order, OrderEvent, OrderLine, StaffAlert
from .invoices import invoices_issue
from .states import MAIL_STATES, M, S, order_transition, orders_transition
from .vendor_requests import vendor_requests_open, vendor_requests_resend

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FulfilOutcome:
    """What a fulfilment call did. ``status`` is the requested order's status afterwards, or None when
    another transaction holds that order (it is being fulfilled, corrected or swept: nothing to do here).
    ``to_mail`` lists the orders this call fulfilled, whose welcome mail is queued."""

    status: str | None
    to_mail: list[int]
    mail_queued: bool = False  # the requested order was fulfilled before, and its welcome mail is still due


def order_fulfil(*, order_id: int, enqueue_mail: bool = True) -> Order:
    """Fulfil one order, waiting for its row lock (see ``orders_fulfil``); returns it as it now is."""
    orders_fulfil(order_id=order_id, enqueue_mail=enqueue_mail)
    return Order.objects.get(pk=order_id)


def orders_fulfil(
    *, order_id: int, batch: int = 1, wait: bool = True, enqueue_mail: bool = True
) -> FulfilOutcome:
    """Deliver every key of the order into the customer's locker at once, or none (ESD-4, ESD-5).

    With ``batch`` > 1, up to ``batch - 1`` other placed orders that no one else holds are fulfilled in
    the same transaction: one set of queries and one invoice-number lock for the lot, which is what lets
    two workers keep up with a promotion's burst (bench/README.md). ``wait=False`` returns at once when
    another transaction holds the requested order. Idempotent: an order already fulfilled is left
    untouched, so a task delivered twice does no harm. ``enqueue_mail=False`` leaves the welcome mails to
    the caller (the fulfilment task sends them itself, saving a task per order).

    A batch that fails for a reason other than the database (a bug tripped by one order) is tried again
    with the requested order alone, so one bad order cannot hold up the others.
    """
    if not wait:
        # A copy of the task whose order a batch has already fulfilled: one cheap read, no transaction. Its
        # mail is left alone while another sender's claim on it runs (the batch is sending it).
        seen = (
            Order.objects.filter(pk=order_id)
            .values_list("status", "welcome_mail_status", "welcome_mail_claimed_until")
            .first()
        )
        if seen is None or seen[0] in (S.FULFILLED, S.CANCELLED):
            status, mail_status, claimed_until = seen or (None, None, None)
            due = mail_status == M.QUEUED and (claimed_until is None or claimed_until < timezone.now())
            return FulfilOutcome(status=status, to_mail=[], mail_queued=due)
    for _attempt in range(5):
        try:
            return _fulfil_batch(order_id, batch, wait, enqueue_mail)
        except KeyConflict:
            continue  # another transaction took a key we selected (SQLite only); select again
        except DatabaseError:
            raise  # a dropped connection or a deadlock: the task retries the whole transaction
        except Exception:
            if batch == 1:
                raise
            logger.exception("Fulfilment batch led by order %s failed; fulfilling it alone", order_id)
            batch = 1
    status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    return FulfilOutcome(status=status, to_mail=[])


# The placements' wake-up (core.tasking.enqueue_coalesced_on_commit): at most one waits in the queue.
_WAKE = "orders.fulfil_placed"
# How long a wake-up in the queue stands for the orders placed meanwhile, should it be lost with its broker
# (the sweeper finds them in any case).
_WAKE_MARK_SECONDS = 30


def fulfilment_wake() -> None:
    """Once the transaction commits, wake a worker to fulfil the orders placed (``orders_fulfil_placed``),
    unless a wake-up is already waiting in the queue: a burst of placements sends a handful of tasks, each
    fulfilling a batch, instead of one task per order that mostly finds its order fulfilled by another's
    batch (bench/README.md)."""
    enqueue_coalesced_on_commit("orders.tasks.fulfil_placed", key=_WAKE, timeout=_WAKE_MARK_SECONDS)


def fulfilment_woken() -> None:
    """The wake-up task has started: orders placed from now on send the next one."""
    coalesced_started(_WAKE)


def orders_fulfil_placed(*, batch: int) -> FulfilOutcome:
    """Fulfil up to ``batch`` placed orders that no other transaction holds, oldest due first, in one
    transaction (what a placement's wake-up does: ``orders.tasks.fulfil_placed``). A full batch wakes the
    next worker as soon as it is taken, so a burst is worked through by every worker, batch after batch.

    A batch that fails for a reason other than the database is handed back as one task per order, each
    then fulfilled on its own terms (``orders_fulfil``), so one bad order cannot hold up the others.
    """
    try:
        return _fulfil_batch(None, batch, False, False)
    except DatabaseError:
        raise  # a dropped connection or a deadlock: the task retries the whole transaction
    except Exception:
        logger.exception("Fulfilment of a batch of placed orders failed; each is queued on its own")
        with transaction.atomic():
            for order_id in _placed(batch).values_list("pk", flat=True):
                enqueue_on_commit("orders.tasks.fulfil_order", order_id)
        return FulfilOutcome(status=None, to_mail=[])


def _placed(limit: int, exclude: int | None = None) -> Any:
    """Placed orders nobody holds (never waiting for one: two batches cannot deadlock), oldest due first
    (the next_attempt_at index keeps this cheap: only orders still in progress have one), locked."""
    rows = (
        Order.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("reseller")
        .filter(status=S.PLACED, next_attempt_at__isnull=False)
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.order_by("next_attempt_at", "id")[:limit]


@transaction.atomic
def _fulfil_batch(order_id: int | None, batch: int, wait: bool, enqueue_mail: bool) -> FulfilOutcome:
    """Fulfil the order ``order_id`` with up to ``batch - 1`` other placed orders, or, without an order,
    up to ``batch`` placed orders."""
    orders: list[Order] = []
    if order_id is not None:
        locked = Order.objects.select_for_update(of=("self",), skip_locked=not wait)
        order = locked.select_related("reseller").filter(pk=order_id).first()
        if order is None:
            return FulfilOutcome(status=None, to_mail=[])
        if order.status not in (S.PLACED, S.AWAITING_STOCK):
            return FulfilOutcome(
                status=order.status, to_mail=[], mail_queued=order.welcome_mail_status == M.QUEUED
            )
        orders = [order]
    if batch > len(orders):
        orders += _placed(batch - len(orders), exclude=order_id)
    if not orders:
        return FulfilOutcome(status=None, to_mail=[])
    requested = orders[0] if order_id is not None else None
    full = len(orders) >= batch
    orders = _without_barred(orders)
    if not orders:
        return FulfilOutcome(status=requested.status if requested else None, to_mail=[])
    if order_id is None and full:
        # A full batch of placed orders: more may wait. The next worker is woken now, not at commit, to take
        # the next batch while this one is delivered; a worker killed in this batch then leaves the rest of
        # a burst to it, not to the sweeper. It reads nothing this transaction writes (the rows it could
        # want are locked here, and skipped).
        enqueue_coalesced("orders.tasks.fulfil_placed", key=_WAKE, timeout=_WAKE_MARK_SECONDS)

    lines: dict[int, list[OrderLine]] = {o.pk: [] for o in orders}
    for line in OrderLine.objects.filter(order__in=orders).select_related("product").order_by("product_id"):
        lines[line.order_id].append(line)  # in product order, as keys are reserved

    # Reserve what the whole batch asks for, product by product (always in product order, so two batches
    # never hold each other's keys), then hand keys out in the batch's order: an order gets all its keys
    # or none (never half-delivered); the keys nobody was given stay available when the transaction ends.
    need: dict[int, int] = {}
    for order_lines in lines.values():
        for line in order_lines:
            need[line.product_id] = need.get(line.product_id, 0) + line.quantity
    pools = {pid: keys_reserve(product_id=pid, quantity=need[pid]) for pid in sorted(need)}
    taken: dict[int, list[tuple[OrderLine, list[Any]]]] = {}
    short: dict[int, list[tuple[OrderLine, int]]] = {}
    for o in orders:
        lacking = [(ln, ln.quantity - len(pools[ln.product_id])) for ln in lines[o.pk]]
        lacking = [(ln, n) for ln, n in lacking if n > 0]
        if lacking:
            short[o.pk] = lacking
            continue
        taken[o.pk] = []
        for line in lines[o.pk]:
            pool = pools[line.product_id]
            taken[o.pk].append((line, pool[: line.quantity]))
            del pool[: line.quantity]

    fulfilled = [o for o in orders if o.pk in taken]
    if fulfilled:
        accounts = locker_accounts_for_emails(o.end_customer_email for o in fulfilled)
        by_owner: dict[int, list[Any]] = {}
        allocations: list[Allocation] = []
        for o in fulfilled:
            owner = accounts[o.end_customer_email]
            for line, key_ids in taken[o.pk]:
                by_owner.setdefault(owner.pk, []).extend(key_ids)
                allocations.extend(Allocation(line=line, key_id=key_id) for key_id in key_ids)
        keys_assign(by_owner)
        Allocation.objects.bulk_create(allocations, batch_size=1000)
        now = timezone.now()
        for o in fulfilled:  # the welcome mail is due (ESD-9), saved by the orders' UPDATE below
            MAIL_STATES.apply(o, M.QUEUED)
        orders_transition(
            [
                (
                    o,
                    {"keys": sum(len(ids) for _line, ids in taken[o.pk])},
                    {"end_customer": accounts[o.end_customer_email], "fulfilled_at": now},
                )
                for o in fulfilled
            ],
            S.FULFILLED,
            now=now,
            also=[MAIL_STATES.field],
        )
        OrderEvent.objects.bulk_create(
            [OrderEvent(order=o, kind=OrderEvent.Kind.WELCOME_MAIL_QUEUED, at=now) for o in fulfilled]
        )

        # ESD-6: in the same transaction, so invoiced if and only if fulfilled.
        invoices_issue(orders=fulfilled, lines=lines)
        if enqueue_mail:
            for o in fulfilled:
                enqueue_on_commit("orders.tasks.send_welcome_mail", o.pk)

    for o in orders:
        if o.pk in short:
            _wait_for_stock(o, short[o.pk])
    return FulfilOutcome(status=requested.status if requested else None, to_mail=[o.pk for o in fulfilled])


def _without_barred(orders: list[Order]) -> list[Order]:
    """The orders whose keys may go to their address's account; the others are held (ESD-7).

    An order was refused an address of staff's or a partner's when it was placed, but the account at its
    address can have become one since (its address changed to this one, a membership added). Such an order
    is not delivered: it stays as it is, with a staff alert (one while it is open), until staff correct the
    address (ESD-14) or the account; a later sweep or stock arrival then delivers it."""
    barred = addresses_barred_from_keys(o.end_customer_email for o in orders)
    if not barred:
        return orders
    held = [o for o in orders if normalise_email(o.end_customer_email) in barred]
    alerted = set(
        StaffAlert.objects.filter(
            kind=StaffAlert.Kind.DELIVERY_HELD, order__in=held, acknowledged_at__isnull=True
        ).values_list("order_id", flat=True)
    )
    for order in held:
        logger.warning("Order %s held: the account at its address may not receive keys (ESD-7)", order.pk)
        if order.pk not in alerted:
            staff_alert_raise(
                kind=StaffAlert.Kind.DELIVERY_HELD,
                order_id=order.pk,
                message=f"Order #{order.pk} was not delivered: the account at its end customer's address is "
                "a staff account or a member of a reseller or the distributor, which never receives keys "
                "(ESD-7). Correct the order's address or the account; the order is delivered afterwards.",
            )
    # Looked at again by the sweeper after ten intervals (as an order waiting for stock), behind the orders
    # placed meanwhile: a held order does not take the front of every batch.
    later = timezone.now() + 10 * timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    Order.objects.filter(pk__in=[o.pk for o in held]).update(next_attempt_at=later)
    return [o for o in orders if o not in held]


def _wait_for_stock(order: Order, short: list[tuple[OrderLine, int]]) -> None:
    """An order the stock cannot cover whole: it waits (staff see what is short) and the vendor is asked."""

    if order.status == S.PLACED:
        order_transition(order, S.AWAITING_STOCK, data={"short": {ln.product.sku: n for ln, n in short}})
        vendor_requests_open(order=order, short=[(ln.product_id, n) for ln, n in short])
    else:
        # Still waiting (a sweep or new stock woke it): a vendor request whose message was lost with a
        # killed worker is sent again.
        vendor_requests_resend(order=order)


def orders_retry_for_products(*, product_ids: Sequence[int]) -> int:
    """Re-enqueue fulfilment of every order waiting for one of these products (ESD-5)."""
    ids = list(
        Order.objects.filter(status=S.AWAITING_STOCK, lines__product_id__in=product_ids)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
        .distinct()
    )
    for order_id in ids:
        enqueue_on_commit("orders.tasks.fulfil_order", order_id)
    return len(ids)
