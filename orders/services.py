"""Writes on ESD orders: placing, fulfilling (ESD-3..5), the welcome mail (ESD-9) and the state machine."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User, normalise_email
from accounts.services import (
    address_is_portal_staff_or_partner,
    declared_domain_of,
    locker_account_for_email,
    locker_accounts_for_emails,
)
from catalog.models import Product
from core.errors import DomainError
from core.states import StateMachine
from core.tasking import enqueue_on_commit
from locker.models import ProductKey
from locker.services import KeyConflict, keys_assign, keys_reassign, keys_reserve

from .alerts import staff_alert_raise
from .invoices import invoices_issue
from .models import Allocation, EmailCorrection, Order, OrderEvent, OrderLine
from .signals import nudge_after_commit
from .vendor_service import vendor_requests_open, vendor_requests_resend

logger = logging.getLogger(__name__)

MAX_UNITS_PER_LINE = 10_000

S = Order.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PLACED: {S.AWAITING_STOCK, S.FULFILLED},
    S.AWAITING_STOCK: {S.FULFILLED, S.CANCELLED},
    S.FULFILLED: set(),  # ESD-10: ESD products cannot be returned
    S.CANCELLED: set(),
}


class OrderError(DomainError):
    """A refusal of an order action (core.errors: its adapters show it in a form, a message or the API)."""

    STATUS = {
        "invalid_email": 422,
        "member_address": 422,
        "own_domain_address": 422,
        "product_not_orderable": 422,
        "invalid_quantity": 422,
        "no_lines": 422,
        "same_email": 422,
        "not_a_reseller": 403,
        "not_cancellable": 409,
        "correction_refused": 409,
        "correction_pending": 409,
        "not_fulfilled": 409,
        "mail_in_flight": 409,
        "invalid_transition": 409,
        "resend_throttled": 429,
    }


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: int


def _end_customer_address(raw: str, field: str, reseller: Organisation) -> str:
    """A valid end-customer address that does not reach the reseller itself (ESD-7).

    Refused, however spelt (case, ``+tags``, quoted local parts, trailing dots, Unicode forms): addresses of
    members of reseller and distributor organisations and of staff, and addresses at a mail domain this
    reseller declared as its own. Members of customer organisations are end customers like any other.
    """
    email = normalise_email(raw)
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise OrderError("invalid_email", _("Enter a valid e-mail address."), field) from None
    domain = email.rpartition("@")[2]
    if domain.startswith("[") or "." not in domain.strip("."):
        # A domain literal (r@[203.0.113.7]) or a bare host name reaches whatever server it names, which no
        # comparison of addresses or declared domains can tell apart from the reseller's own (ESD-7).
        raise OrderError(
            "invalid_email",
            _("Enter an address at a mail domain, not at an IP address or a local host name."),
            field,
        )
    if address_is_portal_staff_or_partner(email):
        raise OrderError(
            "member_address",
            _(
                "This address belongs to a portal user of a reseller or of the "
                "distributor; keys go to the end customer's own address."
            ),
            field,
        )
    declared = declared_domain_of(reseller, email)
    if declared:
        raise OrderError(
            "own_domain_address",
            _(
                "Addresses at %(domain)s are declared as your organisation's own (Settings → Mail domains); "
                "keys go to the end customer's own address."
            )
            % {"domain": declared},
            field,
        )
    return email


def _next_attempt(status: str, now: Any) -> Any:
    """When the sweeper should look at an order in this status if no task moves it on first."""
    interval = timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    if status in (S.PLACED, S.FULFILLED):  # fulfilment, then the welcome mail, are due within seconds
        return now + interval
    if status == S.AWAITING_STOCK:  # new stock wakes it directly; the sweep is only a safety net
        return now + 10 * interval
    return None


ORDER_STATES = StateMachine(
    TRANSITIONS,
    refuse=lambda order, to: OrderError(
        "invalid_transition",
        _("This order cannot go from %(a)s to %(b)s.")
        % {"a": order.get_status_display(), "b": Order.Status(to).label},
    ),
)


def _apply_transition(order: Order, to: str, now: Any, fields: dict[str, Any]) -> list[str]:
    """Check the move against the state machine and set the order's fields (for a batch saved in one
    UPDATE); return the fields changed."""
    ORDER_STATES.check(order, to)
    order.status = to
    order.updated_at = now
    fields.setdefault("next_attempt_at", _next_attempt(to, now))
    for name, value in fields.items():
        setattr(order, name, value)
    return ["status", "updated_at", *fields]


def order_transition(
    order: Order, to: str, *, actor: Any = None, data: dict[str, Any] | None = None, **fields: Any
) -> None:
    """The one place an order changes status. The caller holds the row lock (select_for_update)."""
    now = timezone.now()
    fields.setdefault("next_attempt_at", _next_attempt(to, now))
    ORDER_STATES.move(
        order,
        to,
        event=partial(OrderEvent.objects.create, order=order, kind=to, actor=actor, data=data or {}),
        now=now,
        updated_at=now,
        **fields,
    )
    nudge_after_commit()


def orders_transition(
    moves: Sequence[tuple[Order, dict[str, Any], dict[str, Any]]], to: str, *, now: Any, actor: Any = None
) -> None:
    """``order_transition`` for a batch of (order, event data, fields) in two queries. Row locks held.

    One UPDATE: a field with the same value on every order is set plainly, one that differs (the locker
    account) with a CASE over the orders, grouped by value.
    """
    if not moves:
        return
    values: dict[str, dict[Any, list[int]]] = {}
    for order, _data, fields in moves:
        for name in _apply_transition(order, to, now, dict(fields)):
            attname = getattr(Order._meta.get_field(name), "attname", name)  # end_customer → end_customer_id
            values.setdefault(attname, {}).setdefault(getattr(order, attname), []).append(order.pk)
    update: dict[str, Any] = {}
    for attname, by_value in values.items():
        if len(by_value) == 1:
            update[attname] = next(iter(by_value))
        else:
            update[attname] = Case(*(When(pk__in=pks, then=Value(value)) for value, pks in by_value.items()))
    Order.objects.filter(pk__in=[order.pk for order, _d, _f in moves]).update(**update)
    OrderEvent.objects.bulk_create(
        [OrderEvent(order=order, kind=to, actor=actor, at=now, data=data) for order, data, _f in moves]
    )
    nudge_after_commit()


def order_place(
    *, reseller: Organisation, placed_by: Any, end_customer_email: str, lines: Sequence[LineIn]
) -> Order:
    """Record an order for one end customer (ESD-2) and hand it to the fulfilment worker (ESD-3)."""
    if not reseller.is_reseller:
        raise OrderError("not_a_reseller", _("Only resellers can order."))
    email = _end_customer_address(end_customer_email, "end_customer_email", reseller)

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
            reseller=reseller,
            placed_by=placed_by,
            end_customer_email=email,
            created_at=now,
            updated_at=now,
            next_attempt_at=_next_attempt(S.PLACED, now),
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
        enqueue_on_commit("orders.tasks.fulfil_order", order.pk)
    return order


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
            due = mail_status == Order.MailStatus.QUEUED and (
                claimed_until is None or claimed_until < timezone.now()
            )
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


@transaction.atomic
def _fulfil_batch(order_id: int, batch: int, wait: bool, enqueue_mail: bool) -> FulfilOutcome:
    locked = Order.objects.select_for_update(of=("self",), skip_locked=not wait).select_related("reseller")
    order = locked.filter(pk=order_id).first()
    if order is None:
        return FulfilOutcome(status=None, to_mail=[])
    if order.status not in (S.PLACED, S.AWAITING_STOCK):
        return FulfilOutcome(
            status=order.status, to_mail=[], mail_queued=order.welcome_mail_status == Order.MailStatus.QUEUED
        )
    orders = [order]
    if batch > 1:
        # Other placed orders nobody holds (never waiting for one: two batches cannot deadlock), oldest due
        # first (the next_attempt_at index keeps this cheap: only orders still in progress have one).
        orders += (
            Order.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("reseller")
            .filter(status=S.PLACED, next_attempt_at__isnull=False)
            .exclude(pk=order.pk)
            .order_by("next_attempt_at", "id")[: batch - 1]
        )

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
        orders_transition(
            [
                (
                    o,
                    {"keys": sum(len(ids) for _line, ids in taken[o.pk])},
                    {
                        "end_customer": accounts[o.end_customer_email],
                        "fulfilled_at": now,
                        "welcome_mail_status": Order.MailStatus.QUEUED,
                    },
                )
                for o in fulfilled
            ],
            S.FULFILLED,
            now=now,
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
    return FulfilOutcome(status=order.status, to_mail=[o.pk for o in fulfilled])


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


def orders_sweep(*, now: Any = None, limit: int = 1000) -> dict[str, int]:
    """Re-enqueue orders that are due and have not moved on, so a lost message costs minutes (ALL-5).

    Each due order is pushed back by one interval as it is enqueued, so an order is sent to the queue at
    most once per interval however long the workers are away: the queue never floods.
    """
    now = now or timezone.now()
    counts = {"fulfil": 0, "welcome_mail": 0}
    with transaction.atomic():
        due = list(
            Order.objects.filter(next_attempt_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", "status", "welcome_mail_status")[:limit]
        )
        later: dict[Any, list[int]] = {}
        for order_id, status, mail_status in due:
            when = _next_attempt(status, now)  # pushed back by its status's own interval (awaiting: ten)
            if status in (S.PLACED, S.AWAITING_STOCK):
                enqueue_on_commit("orders.tasks.fulfil_order", order_id)
                counts["fulfil"] += 1
            elif status == S.FULFILLED and mail_status == Order.MailStatus.QUEUED:
                enqueue_on_commit("orders.tasks.send_welcome_mail", order_id)
                counts["welcome_mail"] += 1
            else:
                when = None  # nothing left to do
            later.setdefault(when, []).append(order_id)
        for when, ids in later.items():
            Order.objects.filter(pk__in=ids).update(next_attempt_at=when)
    counts.update(correction_notices_sweep(now=now, limit=limit))
    return counts


def correction_notices_sweep(*, now: Any, limit: int = 1000) -> dict[str, int]:
    """Notices to previous addresses (ESD-14: never in silence) that are due and not sent: enqueued again,
    each pushed back by one interval so the queue never floods; one tried too often is given up visibly."""
    interval = timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    counts: dict[str, int] = {}
    with transaction.atomic():
        due = list(
            EmailCorrection.objects.filter(notice_next_attempt_at__lte=now)
            .filter(Q(notice_claimed_until__isnull=True) | Q(notice_claimed_until__lt=now))  # none being sent
            .select_for_update(skip_locked=True)
            .order_by("notice_next_attempt_at")
            .values_list("pk", "order_id", "notice_attempts")[:limit]
        )
        retry = [pk for pk, _order, attempts in due if attempts <= settings.MAIL_MAX_RETRIES]
        EmailCorrection.objects.filter(pk__in=retry).update(notice_next_attempt_at=now + interval)
        for correction_id in retry:
            enqueue_on_commit("orders.tasks.send_correction_notice", correction_id)
        if retry:
            counts["correction_notice"] = len(retry)
        for correction_id, _order_id, _attempts in due:
            if correction_id not in retry:
                correction_notice_failed(correction_id=correction_id, reason="too many attempts")
    return counts


def correction_notice_failed(*, correction_id: int, reason: str) -> None:
    """Give up telling the previous address, visibly: staff are alerted (they can reach the customer)."""

    with transaction.atomic():
        given_up = EmailCorrection.objects.filter(
            pk=correction_id, notice_sent_at__isnull=True, notice_next_attempt_at__isnull=False
        ).update(notice_next_attempt_at=None, notice_claimed_until=None)
        if not given_up:
            return
        correction = EmailCorrection.objects.get(pk=correction_id)
        staff_alert_raise(
            kind="correction_notice_failed",
            order_id=correction.order_id,
            message=f"The notice of the address correction of order #{correction.order_id} could not be "
            f"delivered to its previous address {correction.from_email}: {reason[:200]}",
        )


def _locked_order(organisation: Organisation, order_id: int) -> Order:
    """The reseller's order, row-locked; Order.DoesNotExist for anyone else's (ALL-1)."""
    return Order.objects.for_org(organisation).select_for_update().get(pk=order_id)


@transaction.atomic
def order_cancel(*, organisation: Organisation, order_id: int, actor: Any) -> Order:
    """Cancel an order still waiting for stock (ESD-10). It holds no key, so nothing is released."""
    order = _locked_order(organisation, order_id)
    if order.status != S.AWAITING_STOCK:
        raise OrderError(
            "not_cancellable",
            _("Only an order waiting for stock can be cancelled; delivered ESD products cannot be returned."),
        )
    order_transition(order, S.CANCELLED, actor=actor, cancelled_at=timezone.now())
    return order


def correction_refusal(order: Order) -> str | None:
    """Why the end customer's address can no longer be changed (ESD-14), or None if it can.

    Someone has used the mail sent to the wrong address once a key of the order was revealed, or that
    locker account chose a password or logged in. The caller holds the locks.
    """
    if order.status == S.CANCELLED:
        return _("The order was cancelled.")
    if order.status != S.FULFILLED:
        return None
    if Allocation.objects.filter(line__order=order, key__revealed_at__isnull=False).exists():
        return _("A key of this order has already been revealed from the locker of that address.")
    account = order.end_customer
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


C = EmailCorrection.Status
CORRECTION_TRANSITIONS: dict[str, set[str]] = {
    C.PENDING_REVIEW: {C.APPLIED, C.REFUSED},
    C.APPLIED: set(),
    C.REFUSED: set(),
}


CORRECTION_STATES = StateMachine(
    CORRECTION_TRANSITIONS,
    refuse=lambda correction, to: OrderError(
        "correction_decided", _("This correction has already been decided.")
    ),
)


def pending_correction(order: Order) -> EmailCorrection | None:
    """The correction of this order waiting for staff, if any (at most one, by a constraint)."""
    return order.corrections.filter(status=C.PENDING_REVIEW).first()


def _lock_correction_subjects(order: Order) -> tuple[list[Any], Any]:
    """Lock the order's keys and its current locker account (the order row is locked by the caller), so a
    concurrent reveal either happens first (and the correction is refused) or finds the key moved."""

    key_ids = list(
        ProductKey.objects.filter(allocation__line__order=order)
        .select_for_update()
        .order_by("id")
        .values_list("id", flat=True)
    )
    old_account = (
        User.objects.select_for_update().filter(pk=order.end_customer_id).first()
        if order.end_customer_id
        else None
    )
    order.end_customer = old_account
    return key_ids, old_account


def _kill_links(order: Order, account: Any) -> None:
    """ESD-14: the links mailed to the old address die: this order's welcome links (orders.tokens) and the
    account's reset links. Welcome links other resellers' orders mailed to the same account stay (ESD-15)."""

    Order.objects.filter(pk=order.pk).update(link_generation=F("link_generation") + 1)
    if account is not None:
        User.objects.filter(pk=account.pk).update(link_generation=F("link_generation") + 1)


def _apply_correction(
    order: Order, correction: EmailCorrection, key_ids: list[Any], old_account: Any, actor: Any
) -> None:
    """Move the order and its keys to the corrected address (the caller holds every lock)."""
    email, old_email = correction.to_email, order.end_customer_email
    fields: dict[str, Any] = {"end_customer_email": email}
    if order.status == S.FULFILLED:
        new_account = locker_account_for_email(email=email)
        keys_reassign(
            key_ids=key_ids,
            new_owner=new_account,
            actor=actor,
            data={"order": order.pk, "from": old_email, "to": email},
        )
        fields.update(
            end_customer=new_account,
            welcome_mail_status=Order.MailStatus.NOT_SENT,
            welcome_mail_sent_at=None,
            welcome_mail_error="",
            next_attempt_at=None,
            # The new account's customer has done nothing yet (what the old one did stays in the history).
            customer_password_set_at=None,
            customer_signed_in_at=None,
        )
        _kill_links(order, old_account)
    now = timezone.now()
    for name, value in fields.items():
        setattr(order, name, value)
    order.updated_at = now
    order.save(update_fields=[*fields, "updated_at"])
    data: dict[str, Any] = {"from": old_email, "to": email, "keys_moved": len(key_ids)}
    if actor is not None and actor.pk != correction.requested_by_id:
        data["requested_by"] = correction.requested_by_id
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CORRECTED, actor=actor, at=now, data=data)


def _correction_transition(correction: EmailCorrection, to: str, *, actor: Any, outcome: str = "") -> None:
    """The one place a correction under review is decided (the caller holds its row lock)."""
    CORRECTION_STATES.move(
        correction, to, reviewed_by=actor, reviewed_at=timezone.now(), outcome=outcome[:300]
    )


@transaction.atomic
def order_correct_email(
    *, organisation: Organisation, order_id: int, actor: Any, new_email: str
) -> EmailCorrection:
    """Correct a wrong end-customer address, exactly as ESD-14 allows; returns the correction.

    Never to the reseller itself (ESD-7's address rules), never once the mail sent to the old address was
    used, never in silence: the old address is told by a notice without a link, whatever happens next.
    Applied at once (keys move to the new address's locker, links sent to the old one die, no mail goes to
    the new one), unless it comes after the welcome mail was accepted by the mail server and
    ``ESD_CORRECTION_REVIEW`` is on: then the old links die now and the keys move only when staff approve
    (``correction_approve``), after the same checks again.
    """
    email = _end_customer_address(new_email, "new_email", organisation)
    order = _locked_order(organisation, order_id)
    if email == order.end_customer_email:
        raise OrderError("same_email", _("This is already the order's address."), "new_email")
    if pending_correction(order) is not None:
        raise OrderError(
            "correction_pending",
            _("A correction of this order is already waiting for the distributor's review."),
        )
    key_ids, old_account = _lock_correction_subjects(order)
    refusal = correction_refusal(order)
    if refusal:
        raise OrderError("correction_refused", refusal)
    if order.welcome_mail_claimed_until and order.welcome_mail_claimed_until > timezone.now():
        # A sender is talking to the mail server right now: whether the mail was accepted (and so whether
        # staff must review) is known in a moment. A claim taken after this lock sees the correction.
        raise OrderError(
            "mail_in_flight", _("The welcome mail is being sent right now. Try again in a minute.")
        )

    after_mail = order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_SENT).exists()
    review = after_mail and order.status == S.FULFILLED and settings.ESD_CORRECTION_REVIEW
    correction = EmailCorrection.objects.create(
        order=order,
        from_email=order.end_customer_email,
        to_email=email,
        requested_by=actor,
        after_welcome_mail=after_mail,
        status=C.PENDING_REVIEW if review else C.APPLIED,
        notice_next_attempt_at=timezone.now() + timedelta(seconds=settings.ORDER_SWEEP_INTERVAL),
    )
    if review:
        _kill_links(order, old_account)
        now = timezone.now()
        if order.welcome_mail_status == Order.MailStatus.QUEUED:  # a resend not yet sent stays unsent
            order.welcome_mail_status = Order.MailStatus.NOT_SENT
            order.next_attempt_at = None
            order.updated_at = now
            order.save(update_fields=["welcome_mail_status", "next_attempt_at", "updated_at"])
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.CORRECTION_REQUESTED,
            actor=actor,
            at=now,
            data={"from": correction.from_email, "to": email, "correction": correction.pk},
        )

        staff_alert_raise(
            kind="correction_review",
            order_id=order.pk,
            message=f"{organisation.name} asks to move order #{order.pk} from {correction.from_email} to "
            f"{email} after the welcome mail went out; approve or refuse it in Address corrections.",
        )
    else:
        _apply_correction(order, correction, key_ids, old_account, actor)
    enqueue_on_commit("orders.tasks.send_correction_notice", correction.pk)
    return correction


@transaction.atomic
def correction_approve(*, correction_id: int, actor: Any) -> EmailCorrection:
    """Staff approve a correction held for review: ESD-14's check and ESD-7's address rules run again now,
    so a customer who used the mail meanwhile (a reveal, a password) keeps the keys, and the correction is
    refused with the reason instead."""
    correction = EmailCorrection.objects.select_for_update().get(pk=correction_id)
    if correction.status != C.PENDING_REVIEW:
        raise OrderError("correction_decided", _("This correction has already been decided."))
    order = Order.objects.select_for_update().select_related("reseller").get(pk=correction.order_id)
    key_ids, old_account = _lock_correction_subjects(order)
    refusal = correction_refusal(order)
    if refusal is None:
        try:
            _end_customer_address(correction.to_email, "new_email", order.reseller)
        except OrderError as exc:
            refusal = exc.message
    if refusal:
        _refuse(correction, order, actor, refusal)
        return correction
    _apply_correction(order, correction, key_ids, old_account, actor)
    _correction_transition(correction, C.APPLIED, actor=actor)
    return correction


@transaction.atomic
def correction_refuse(*, correction_id: int, actor: Any, reason: str = "") -> EmailCorrection:
    """Staff refuse a correction held for review; the order keeps its address and keys."""
    correction = EmailCorrection.objects.select_for_update().get(pk=correction_id)
    if correction.status != C.PENDING_REVIEW:
        raise OrderError("correction_decided", _("This correction has already been decided."))
    order = Order.objects.select_for_update().get(pk=correction.order_id)
    _refuse(correction, order, actor, reason or _("Refused by the distributor's staff."))
    return correction


def _refuse(correction: EmailCorrection, order: Order, actor: Any, reason: str) -> None:
    _correction_transition(correction, C.REFUSED, actor=actor, outcome=reason)
    OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.CORRECTION_REFUSED,
        actor=actor,
        data={"to": correction.to_email, "reason": reason[:300], "correction": correction.pk},
    )


@transaction.atomic
def welcome_mail_resend(*, organisation: Organisation, order_id: int, actor: Any) -> Order:
    """Send the welcome mail again with a fresh link; the links this order mailed before die (ESD-12), those
    other orders mailed to the same account do not (ESD-15).

    At most WELCOME_MAIL_RESENDS_PER_HOUR per order, so a reseller cannot flood a customer's inbox.
    """
    order = _locked_order(organisation, order_id)
    if order.status != S.FULFILLED or order.end_customer_id is None:
        raise OrderError("not_fulfilled", _("The welcome mail goes out once the order is fulfilled."))
    if pending_correction(order) is not None:
        raise OrderError(
            "correction_pending",
            _(
                "The address of this order is waiting for the distributor's review; no mail goes out "
                "meanwhile."
            ),
        )
    since = timezone.now() - timedelta(hours=1)
    recent = order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_RESENT, at__gte=since).count()
    if recent >= settings.WELCOME_MAIL_RESENDS_PER_HOUR:
        raise OrderError(
            "resend_throttled",
            _(
                "The welcome mail was already sent again %(n)d times in the last "
                "hour. Please wait before trying again."
            )
            % {"n": recent},
        )
    now = timezone.now()
    if order.welcome_mail_claimed_until and order.welcome_mail_claimed_until > now:
        raise OrderError(
            "mail_in_flight", _("The welcome mail is being sent right now. Try again in a minute.")
        )
    order.link_generation += 1  # the order row is locked
    order.welcome_mail_status = Order.MailStatus.QUEUED
    order.welcome_mail_error = ""
    order.welcome_mail_attempts = 0
    order.updated_at = now
    order.next_attempt_at = _next_attempt(S.FULFILLED, now)
    order.save(
        update_fields=[
            "link_generation",
            "welcome_mail_status",
            "welcome_mail_error",
            "welcome_mail_attempts",
            "updated_at",
            "next_attempt_at",
        ]
    )
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_RESENT, actor=actor, at=now)
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
