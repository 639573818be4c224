"""Thin, idempotent tasks of a person's own address change: ids in, one call, retries with backoff
(ALL-5)."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.mail import retry_or_give_up, unsent

from . import mail
from .models import EmailChange


@shared_task(bind=True, max_retries=None)
def send_email_change_link(self: Any, change_id: int) -> str:
    """Mail the confirmation link to the new address once; SMTP errors retry up to ``MAIL_MAX_RETRIES``."""
    try:
        return mail.email_change_link_send(change_id=change_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, EmailChange, change_id, exc)


@shared_task(bind=True, max_retries=None)
def send_email_change_notice(self: Any, change_id: int) -> str:
    """Tell the previous address of a confirmed change once; retries as ``send_email_change_link``."""
    try:
        return mail.email_change_notice_send(change_id=change_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, EmailChange, change_id, exc, prefix="notice")


@shared_task
def sweep_email_changes() -> int:
    """Re-enqueue the links and notices a lost message left unsent: never tried, older than one sweep
    interval, nobody holding them. The number enqueued; a second run finds them claimed or sent."""
    now = timezone.now()
    old = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    links = EmailChange.objects.filter(
        unsent(now),
        status=EmailChange.Status.PENDING,
        requested_at__lt=old,
        requested_at__gte=now - timedelta(hours=settings.EMAIL_CHANGE_HOURS),
    ).values_list("pk", flat=True)[:500]
    notices = EmailChange.objects.filter(
        unsent(now, prefix="notice"),
        status=EmailChange.Status.CONFIRMED,
        confirmed_at__lt=old,
    ).values_list("pk", flat=True)[:500]
    count = 0
    for change_id in links:
        send_email_change_link.delay(change_id)
        count += 1
    for change_id in notices:
        send_email_change_notice.delay(change_id)
        count += 1
    return count
