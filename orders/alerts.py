"""Alerts for distributor staff: recorded with the failure, mailed best-effort afterwards."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core.tasking import enqueue_on_commit

from .models import StaffAlert

logger = logging.getLogger(__name__)


def staff_alert_raise(*, kind: str, message: str, order_id: int | None = None) -> StaffAlert:
    """Record an alert in the caller's transaction; mail it to STAFF_ALERT_EMAILS after commit."""
    alert = StaffAlert.objects.create(kind=kind, message=message[:400], order_id=order_id)
    logger.error("Staff alert %s: %s", kind, message[:400])
    if settings.STAFF_ALERT_EMAILS:
        enqueue_on_commit("orders.tasks.mail_staff_alert", alert.pk)
    return alert


def staff_alert_mail(*, alert_id: int) -> None:
    alert = StaffAlert.objects.get(pk=alert_id)
    subject = f"[portal] {alert.get_kind_display()}" + (
        f" — order #{alert.order_id}" if alert.order_id else ""
    )
    send_mail(
        subject,
        f"{alert.message}\n\n{settings.PORTAL_BASE_URL}/admin/orders/staffalert/{alert.pk}/change/",
        settings.SERVER_EMAIL,
        settings.STAFF_ALERT_EMAILS,
    )


@transaction.atomic
def staff_alert_acknowledge(*, alert_id: int, user: object) -> None:

    StaffAlert.objects.filter(pk=alert_id, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )
