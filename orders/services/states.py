"""The order's, its welcome mail's and its address corrections' state machines, and their one way to move.

Every write of ``Order.status``, ``Order.welcome_mail_status`` and ``EmailCorrection.status`` goes through
the machines here (core.states): ``ORDER_STATES`` by ``order_transition`` (one locked order) and
``orders_transition`` (a locked batch in one UPDATE), ``MAIL_STATES`` by the services that queue, reset,
send and give up a welcome mail, ``CORRECTION_STATES`` by ``correction_transition``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation
from core.states import StateMachine

from ..errors import OrderError
from ..models import EmailCorrection, Order, OrderEvent
from ..signals import nudge_after_commit

S = Order.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PLACED: {S.AWAITING_STOCK, S.FULFILLED},
    S.AWAITING_STOCK: {S.FULFILLED, S.CANCELLED},
    S.FULFILLED: set(),  # ESD-10: ESD products cannot be returned
    S.CANCELLED: set(),
}


def _invalid_move(
    message: Any, choices: type[models.TextChoices], field: str
) -> Callable[[Any, str], OrderError]:
    """The refusal of a move the table does not allow; ``message`` names the two states."""

    def refuse(obj: Any, to: str) -> OrderError:
        states = {"a": choices(getattr(obj, field)).label, "b": choices(to).label}
        return OrderError("invalid_transition", message % states)

    return refuse


ORDER_STATES = StateMachine(
    TRANSITIONS,
    refuse=_invalid_move(gettext_lazy("This order cannot go from %(a)s to %(b)s."), Order.Status, "status"),
)

M = Order.MailStatus
MAIL_TRANSITIONS: dict[str, set[str]] = {
    # Queued when the order is fulfilled (ESD-9) and whenever the reseller sends it again (ESD-12), from any
    # state; back to not sent when a correction moves the order to another address (ESD-14: no mail goes
    # there by itself), also from not sent, when an order is corrected twice.
    M.NOT_SENT: {M.QUEUED, M.NOT_SENT},
    M.QUEUED: {M.QUEUED, M.SENT, M.FAILED, M.NOT_SENT},
    M.SENT: {M.QUEUED, M.NOT_SENT},
    M.FAILED: {M.QUEUED, M.NOT_SENT},
}
MAIL_STATES = StateMachine(
    MAIL_TRANSITIONS,
    refuse=_invalid_move(
        gettext_lazy("The welcome mail cannot go from %(a)s to %(b)s."),
        Order.MailStatus,
        "welcome_mail_status",
    ),
    field="welcome_mail_status",
)

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


def next_attempt(status: str, now: Any) -> Any:
    """When the sweeper should look at an order in this status if no task moves it on first."""
    interval = timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    if status in (S.PLACED, S.FULFILLED):  # fulfilment, then the welcome mail, are due within seconds
        return now + interval
    if status == S.AWAITING_STOCK:  # new stock wakes it directly; the sweep is only a safety net
        return now + 10 * interval
    return None


def locked_order(organisation: Organisation, order_id: int) -> Order:
    """The reseller's order, row-locked; Order.DoesNotExist for anyone else's (ALL-1)."""
    return Order.objects.for_org(organisation).select_for_update().get(pk=order_id)


def order_transition(
    order: Order, to: str, *, actor: Any = None, data: dict[str, Any] | None = None, **fields: Any
) -> None:
    """The one place an order changes status. The caller holds the row lock (select_for_update)."""
    now = timezone.now()
    fields.setdefault("next_attempt_at", next_attempt(to, now))
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
    moves: Sequence[tuple[Order, dict[str, Any], dict[str, Any]]],
    to: str,
    *,
    now: Any,
    actor: Any = None,
    also: Sequence[str] = (),
) -> None:
    """``order_transition`` for a batch of (order, event data, fields) in two queries. Row locks held.

    ``also`` names fields another machine's ``apply`` set on every order of the batch, saved in the same
    UPDATE. A field with the same value on every order is set plainly, one that differs (the locker account)
    with a CASE over the orders, grouped by value.
    """
    if not moves:
        return
    values: dict[str, dict[Any, list[int]]] = {}
    for order, _data, fields in moves:
        fields = {"updated_at": now, "next_attempt_at": next_attempt(to, now), **fields}
        for name in [*ORDER_STATES.apply(order, to, **fields), *also]:
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


def correction_transition(correction: EmailCorrection, to: str, *, actor: Any, outcome: str = "") -> None:
    """The one place a correction under review is decided (the caller holds its row lock)."""
    CORRECTION_STATES.move(
        correction, to, reviewed_by=actor, reviewed_at=timezone.now(), outcome=outcome[:300]
    )
