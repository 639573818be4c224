"""Thin, idempotent tasks of the support desk: ids in, one call, retries with backoff (ALL-5)."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.mail import retry_or_give_up, unsent

from . import mail
from .models import Escalation, HeldWebRequest, ReplyMail, SupportRequest
from .services.requests import pending_attachments_sweep
from .services.sla import clocks_check
from .services.web_form import held_sweep


@shared_task(bind=True, max_retries=None)
def send_confirmation(self: Any, request_id: int) -> str:
    """The confirmation mail with the request's number (SUP-7), once."""
    try:
        return mail.confirmation_send(request_id=request_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, SupportRequest, request_id, exc)


@shared_task(bind=True, max_retries=None)
def send_escalation(self: Any, escalation_id: int) -> str:
    """A breached clock's escalation mail (SUP-8), once."""
    try:
        return mail.escalation_send(escalation_id=escalation_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, Escalation, escalation_id, exc)


@shared_task
def check_clocks() -> dict[str, int]:
    """The periodic check (SUP-8): warnings and breaches of running clocks, then mails a lost message left
    unsent and pending attachments nobody filed. Idempotent: a second run finds nothing to do."""
    now = timezone.now()
    events = clocks_check(now=now)
    stale = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    confirmations = SupportRequest.objects.filter(unsent(now), created_at__lt=stale)
    escalations = Escalation.objects.filter(unsent(now), created_at__lt=stale)
    enqueued = 0
    for request_id in confirmations.values_list("pk", flat=True)[:500]:
        send_confirmation.delay(request_id)
        enqueued += 1
    for escalation_id in escalations.values_list("pk", flat=True)[:500]:
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
        return retry_or_give_up(self, HeldWebRequest, held_id, exc)


@shared_task(bind=True, max_retries=None)
def send_reply(self: Any, reply_mail_id: int) -> str:
    """A staff public reply mailed to the customer, once."""
    try:
        return mail.reply_send(reply_mail_id=reply_mail_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, ReplyMail, reply_mail_id, exc)


@shared_task
def sweep_web_requests() -> dict[str, int]:
    """Held web-form requests nobody confirmed lapse; reply mails a lost message left unsent go again."""
    now = timezone.now()
    lapsed = held_sweep(now=now)
    stale = now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL)
    enqueued = 0
    for pk in ReplyMail.objects.filter(unsent(now), created_at__lt=stale).values_list("pk", flat=True)[:500]:
        send_reply.delay(pk)
        enqueued += 1
    return {"lapsed": lapsed, "enqueued": enqueued}
