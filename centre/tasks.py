"""Thin, idempotent tasks of the customer centre: ids in, one call, retries with backoff (ALL-5)."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.mail import retry_or_give_up, unsent

from . import mail
from .models import ImportJob, Invitation, Registration, SupportReminder
from .services.imports import import_job_run
from .services.registration import registrations_sweep
from .services.reminders import reminders_make


@shared_task(bind=True, max_retries=None)
def send_invitation(self: Any, invitation_id: int) -> str:
    """Send an invitation mail once; a copy of the task, or a later run, finds it sent and returns. SMTP
    errors retry with growing gaps up to ``MAIL_MAX_RETRIES``, a permanent refusal fails at once."""
    try:
        return mail.invitation_send(invitation_id=invitation_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, Invitation, invitation_id, exc)


@shared_task
def sweep_invitations() -> int:
    """Re-enqueue invitation mails a lost message left unsent: never tried, older than one sweep interval,
    nobody holding them (a mail being retried has its own retry chain). The number enqueued."""
    now = timezone.now()
    due = (
        Invitation.objects.filter(unsent(now))
        .filter(created_at__lt=now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL))
        .values_list("pk", flat=True)[:500]
    )
    count = 0
    for invitation_id in due:
        send_invitation.delay(invitation_id)
        count += 1
    return count


@shared_task(bind=True, max_retries=None)
def send_registration_mail(self: Any, registration_id: int) -> str:
    """Send a registration's confirmation mail once (CC-8); retries as ``send_invitation`` does."""
    try:
        return mail.registration_mail_send(registration_id=registration_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, Registration, registration_id, exc)


@shared_task
def sweep_registrations() -> dict[str, int]:
    """Delete registrations that lapsed unconfirmed (CC-8), and re-enqueue confirmation mails a lost
    message left unsent (as ``sweep_invitations``). Idempotent: a second run finds nothing to do."""
    lapsed = registrations_sweep()
    now = timezone.now()
    due = (
        Registration.objects.confirmable()
        .filter(unsent(now))
        .filter(created_at__lt=now - timedelta(seconds=settings.ORDER_SWEEP_INTERVAL))
        .values_list("pk", flat=True)[:500]
    )
    enqueued = 0
    for registration_id in due:
        send_registration_mail.delay(registration_id)
        enqueued += 1
    return {"lapsed": lapsed, "enqueued": enqueued}


# --- reminders before support ends (SUP-2; centre.services.reminders) ----------------------------------
@shared_task(bind=True, max_retries=None)
def send_support_reminder(self: Any, reminder_id: int) -> str:
    """Send one licence's support reminder once; retries as ``send_invitation`` does."""
    try:
        return mail.support_reminder_send(reminder_id=reminder_id)
    except (smtplib.SMTPException, OSError) as exc:
        return retry_or_give_up(self, SupportReminder, reminder_id, exc)


@shared_task
def send_support_reminders() -> dict[str, int]:
    """The beat's reminder run (SUP-2): make the reminders due today, then enqueue every one not sent yet,
    never tried and held by nobody (new ones, and those a lost message left). Idempotent: run twice, or
    twice at once, each licence's reminder is made once and mailed once (``send_once``'s claim)."""
    due = reminders_make()
    now = timezone.now()
    waiting = (
        SupportReminder.objects.filter(unsent(now)).order_by("created_at").values_list("pk", flat=True)[:1000]
    )
    enqueued = 0
    for reminder_id in waiting:
        send_support_reminder.delay(reminder_id)
        enqueued += 1
    return {"due": due, "enqueued": enqueued}


# --- imports uploaded in the admin (issue #14) --------------------------------------------------------
@shared_task(acks_late=True)
def run_import_job(job_id: int) -> str:
    """Run one uploaded import (``centre.services.imports.import_job_run``); a finished job is left
    alone, so a second delivery does nothing twice."""
    return import_job_run(job_id=job_id).status


@shared_task
def sweep_import_jobs() -> int:
    """Re-enqueue uploads still waiting for a worker after ``ORDER_SWEEP_INTERVAL`` (a message lost with
    the broker); the job's own lock makes a duplicate run harmless."""
    due = ImportJob.objects.filter(
        status=ImportJob.Status.QUEUED,
        created_at__lt=timezone.now() - timedelta(seconds=max(60, settings.ORDER_SWEEP_INTERVAL)),
    ).values_list("pk", flat=True)[:100]
    enqueued = 0
    for job_id in due:
        run_import_job.delay(job_id)
        enqueued += 1
    return enqueued
