"""The sweeper: work whose message was lost is enqueued again, so a lost message costs minutes (ALL-5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.claims import unclaimed
from core.tasking import enqueue_on_commit

from ..models import EmailCorrection, Order
from .correction import correction_notice_failed
from .states import M, S, next_attempt


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
            when = next_attempt(status, now)  # pushed back by its status's own interval (awaiting: ten)
            if status in (S.PLACED, S.AWAITING_STOCK):
                enqueue_on_commit("orders.tasks.fulfil_order", order_id)
                counts["fulfil"] += 1
            elif status == S.FULFILLED and mail_status == M.QUEUED:
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
            .filter(unclaimed("notice_claimed_until", now))  # none being sent
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
