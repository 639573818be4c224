"""Thin, idempotent tasks of a person's own address change: ids in, one call, retries with backoff
(ALL-5)."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.backoff import backoff

from . import mail
from .models import EmailChange

logger = logging.getLogger(__name__)


def _retry_or_fail(task: Any, change_id: int, prefix: str, exc: BaseException) -> str:
    attempts = (
        EmailChange.objects.filter(pk=change_id).values_list(f"{prefix}_attempts", flat=True).first() or 0
    )
    if attempts > settings.MAIL_MAX_RETRIES:
        mail.email_change_mail_failed(
            change_id=change_id, prefix=prefix, reason=f"{exc.__class__.__name__}: {exc}"
        )
        return "failed"
    logger.warning("E-mail change %s (%s): attempt %s failed (%s)", change_id, prefix, attempts, type(exc))
    raise task.retry(countdown=backoff(settings.MAIL_RETRY_BASE_SECONDS, attempts - 1)) from None


@shared_task(bind=True, max_retries=None)
def send_email_change_link(self: Any, change_id: int) -> str:
    """Mail the confirmation link to the new address once; SMTP errors retry up to ``MAIL_MAX_RETRIES``."""
    try:
        return mail.email_change_link_send(change_id=change_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(self, change_id, "mail", exc)


@shared_task(bind=True, max_retries=None)
def send_email_change_notice(self: Any, change_id: int) -> str:
    """Tell the previous address of a confirmed change once; retries as ``send_email_change_link``."""
    try:
        return mail.email_change_notice_send(change_id=change_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(self, change_id, "notice", exc)


@shared_task
def sweep_email_changes() -> int:
    """Re-enqueue the links and notices a lost message left unsent: never tried, older than one sweep
    interval, nobody holding them. The number enqueued; a second run finds them claimed or sent."""
    now = timezone.now()
    old = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    free = Q(mail_claimed_until=None) | Q(mail_claimed_until__lt=now)
    links = EmailChange.objects.filter(
        free,
        status=EmailChange.Status.PENDING,
        mail_sent_at=None,
        mail_error="",
        mail_attempts=0,
        requested_at__lt=old,
        requested_at__gte=now - timedelta(hours=settings.EMAIL_CHANGE_HOURS),
    ).values_list("pk", flat=True)[:500]
    free = Q(notice_claimed_until=None) | Q(notice_claimed_until__lt=now)
    notices = EmailChange.objects.filter(
        free,
        status=EmailChange.Status.CONFIRMED,
        notice_sent_at=None,
        notice_error="",
        notice_attempts=0,
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
