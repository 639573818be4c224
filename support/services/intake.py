"""Requests from resellers and end customers in the help module (SUP-6, SUP-7, VL-10, SVC-6, ALL-1).

A **reseller** asks about its orders and ordering (kind *ordering*), about ordering volume licences (kind
*volume ordering*, routed to the licensing specialists: VL-10), or a pre-sales question (SVC-6); no
entitlement is needed, and an order it names must be one of its own (another reseller's answers like a
missing one). An **end customer** (a locker account) asks about a key of theirs (kind *activation*): the
key's order stands in for the support number, chosen among the orders of keys delivered to them. End
customers belong to no organisation: their requests are filed under the distributor's own and read by
their requester (``selectors_intake``). Every request gets its number, the clock and the confirmation mail
as the module's (``request_file``'s helpers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from core.ids import id_or_none
from core.tasking import enqueue_on_commit
from locker.models import ProductKey
from orders.models import Order

from ..errors import SupportError
from ..models import CHANNEL_RANK, Channel, Kind, Message, SupportEvent, SupportRequest, team_for
from . import sla
from .requests import BODY_MAX, SUBJECT_MAX, _acknowledgement, _clean_text, request_number_issue
from .web_form import _distributor

RESELLER_KINDS = (Kind.ORDERING, Kind.VOLUME_ORDERING, Kind.PRE_SALES)


def end_customer_orders(user: Any) -> Any:
    """The orders of the keys delivered to ``user`` (their locker), newest first."""
    order_ids = ProductKey.objects.for_owner(user).values("allocation__line__order_id")
    return Order.objects.filter(pk__in=order_ids, end_customer=user).order_by("-created_at", "-pk")


def _file(
    *,
    organisation: Organisation,
    requester: Any,
    kind: str,
    subject: str,
    body: str,
    order: Order | None,
    now: datetime,
) -> SupportRequest:
    calendar = sla.working_calendar(around=now)
    request = SupportRequest(
        number=request_number_issue(today=timezone.localdate(now)),
        organisation=organisation,
        requester=requester,
        kind=kind,
        channel=Channel.MODULE,
        channel_rank=CHANNEL_RANK[Channel.MODULE],
        subject=subject,
        created_at=now,
        order=order,
        team=team_for(kind),
    )
    request.save()
    SupportEvent.objects.create(
        request=request,
        kind=SupportEvent.Kind.FILED,
        actor=requester,
        at=now,
        data={"channel": Channel.MODULE},
    )
    sla.clock_begin(request, now=now, calendar=calendar)
    request.save(update_fields=sla._CLOCK_FIELDS)
    Message.objects.create(
        request=request, author=requester, kind=Message.Kind.CUSTOMER, body=body, created_at=now
    )
    Message.objects.create(
        request=request, kind=Message.Kind.ACKNOWLEDGEMENT, body=_acknowledgement(request), created_at=now
    )
    if requester is not None and requester.email:
        enqueue_on_commit("support.tasks.send_confirmation", request.pk)
    return request


def _texts(subject: str, body: str) -> tuple[str, str]:
    return (
        _clean_text(subject, field="subject", limit=SUBJECT_MAX, missing=_("Enter a subject.")),
        _clean_text(body, field="body", limit=BODY_MAX, missing=_("Describe what you need.")),
    )


def reseller_request_file(
    *,
    reseller: Organisation,
    requester: Any,
    kind: str,
    subject: str,
    body: str,
    order_id: Any = None,
    now: datetime | None = None,
) -> SupportRequest:
    """A reseller's request (no entitlement needed); ``order_id`` optional, one of its own orders."""
    now = now or timezone.now()
    if kind not in RESELLER_KINDS:
        raise SupportError("kind_invalid", _("Choose what your question is about."), field="kind")
    subject, body = _texts(subject, body)
    order = None
    if order_id not in (None, ""):
        order = Order.objects.for_org(reseller).filter(pk=id_or_none(order_id) or 0).first()
        if order is None:
            raise SupportError("order_unknown", _("Choose one of your orders."), field="order")
    with transaction.atomic():
        return _file(
            organisation=reseller,
            requester=requester,
            kind=kind,
            subject=subject,
            body=body,
            order=order,
            now=now,
        )


def end_customer_request_file(
    *, user: Any, order_id: Any, subject: str, body: str, now: datetime | None = None
) -> SupportRequest:
    """An end customer's request about a key of theirs (kind *activation*): the key's order names it."""
    now = now or timezone.now()
    subject, body = _texts(subject, body)
    order = end_customer_orders(user).filter(pk=id_or_none(order_id) or 0).first()
    if order is None:
        raise SupportError(
            "order_unknown", _("Choose the order of the key your question is about."), field="order"
        )
    with transaction.atomic():
        return _file(
            organisation=_distributor(),
            requester=user,
            kind=Kind.ACTIVATION,
            subject=subject,
            body=body,
            order=order,
            now=now,
        )
