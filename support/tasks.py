"""Thin, idempotent tasks of the support desk: ids in, one call, retries with backoff (ALL-5)."""

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
from orders.mail import is_permanent_smtp_error

from . import mail
from .models import Escalation, HeldWebRequest, ReplyMail, SupportRequest
from .services.requests import pending_attachments_sweep
from .services.sla import clocks_check
from .services.web_form import held_sweep

logger = logging.getLogger(__name__)


def _retry_or_fail(task: Any, model: Any, pk: int, exc: Exception, failed: Any) -> str:
    attempts = model.objects.filter(pk=pk).values_list("mail_attempts", flat=True).first() or 0
    if is_permanent_smtp_error(exc) or attempts > settings.MAIL_MAX_RETRIES:
        failed(pk, f"{exc.__class__.__name__}: {exc}")
        return "failed"
    logger.warning("Support mail %s %s: attempt %s failed", model.__name__, pk, attempts)
    raise task.retry(countdown=backoff(settings.MAIL_RETRY_BASE_SECONDS, attempts - 1)) from None


@shared_task(bind=True, max_retries=None)
def send_confirmation(self: Any, request_id: int) -> str:
    """The confirmation mail with the request's number (SUP-7), once."""
    try:
        return mail.confirmation_send(request_id=request_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(
            self,
            SupportRequest,
            request_id,
            exc,
            lambda pk, r: mail.confirmation_failed(request_id=pk, reason=r),
        )


@shared_task(bind=True, max_retries=None)
def send_escalation(self: Any, escalation_id: int) -> str:
    """A breached clock's escalation mail (SUP-8), once."""
    try:
        return mail.escalation_send(escalation_id=escalation_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(
            self,
            Escalation,
            escalation_id,
            exc,
            lambda pk, r: mail.escalation_failed(escalation_id=pk, reason=r),
        )


@shared_task
def check_clocks() -> dict[str, int]:
    """The periodic check (SUP-8): warnings and breaches of running clocks, then mails a lost message left
    unsent and pending attachments nobody filed. Idempotent: a second run finds nothing to do."""
    now = timezone.now()
    events = clocks_check(now=now)
    stale = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    free = Q(mail_claimed_until=None) | Q(mail_claimed_until__lt=now)
    unsent = {"mail_sent_at": None, "mail_error": "", "mail_attempts": 0}
    enqueued = 0
    for request_id in (
        SupportRequest.objects.filter(**unsent, created_at__lt=stale)
        .filter(free)
        .values_list("pk", flat=True)[:500]
    ):
        send_confirmation.delay(request_id)
        enqueued += 1
    for escalation_id in (
        Escalation.objects.filter(**unsent, created_at__lt=stale)
        .filter(free)
        .values_list("pk", flat=True)[:500]
    ):
        send_escalation.delay(escalation_id)
        enqueued += 1
    swept = pending_attachments_sweep(older_than=now - timedelta(days=1))
    return {"events": events, "enqueued": enqueued, "attachments_swept": swept}


# --- The web form and reply mails (SUP-6, SUP-12; sup15b) -------------------------------------------------


@shared_task(bind=True, max_retries=None)
def send_web_confirm(self: Any, held_id: int) -> str:
    """A held web-form request's confirmation link, once."""
    try:
        return mail.web_confirm_send(held_id=held_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(
            self, HeldWebRequest, held_id, exc, lambda pk, r: mail.web_confirm_failed(held_id=pk, reason=r)
        )


@shared_task(bind=True, max_retries=None)
def send_reply(self: Any, reply_mail_id: int) -> str:
    """A staff public reply mailed to the customer, once."""
    try:
        return mail.reply_send(reply_mail_id=reply_mail_id)
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_or_fail(
            self, ReplyMail, reply_mail_id, exc, lambda pk, r: mail.reply_failed(reply_mail_id=pk, reason=r)
        )


@shared_task
def sweep_web_requests() -> dict[str, int]:
    """Held web-form requests nobody confirmed lapse; reply mails a lost message left unsent go again."""
    now = timezone.now()
    lapsed = held_sweep(now=now)
    stale = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    free = Q(mail_claimed_until=None) | Q(mail_claimed_until__lt=now)
    enqueued = 0
    for pk in (
        ReplyMail.objects.filter(mail_sent_at=None, mail_error="", mail_attempts=0, created_at__lt=stale)
        .filter(free)
        .values_list("pk", flat=True)[:500]
    ):
        send_reply.delay(pk)
        enqueued += 1
    return {"lapsed": lapsed, "enqueued": enqueued}
