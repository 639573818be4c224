"""Thin, idempotent tasks: ids in, one service call, retries on named transient errors (ALL-5)."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from core.backoff import backoff
from core.mail import is_permanent_smtp_error

from . import mail, services
from .alerts import staff_alert_mail
from .models import EmailCorrection, Order, VendorRequest
from .vendor import VendorTemporaryError

logger = logging.getLogger(__name__)


def _mail_failed(order_id: int, exc: Exception) -> float | None:
    """A welcome mail the SMTP server did not take: the seconds until the next try, or None if given up.

    Attempts are counted on the order, not per task chain, so however tasks are re-delivered the mail is
    tried at most MAIL_MAX_RETRIES + 1 times; a permanent (5xx) refusal fails at once (ESD-12). Anything
    but an SMTP or network error is logged in full and shown by its kind only.
    """
    if isinstance(exc, smtplib.SMTPException | OSError):
        reason = f"{exc.__class__.__name__}: {exc}"
    else:
        logger.error("Welcome mail of order %s failed", order_id, exc_info=exc)
        reason = exc.__class__.__name__
    attempts = Order.objects.filter(pk=order_id).values_list("welcome_mail_attempts", flat=True).first() or 0
    if is_permanent_smtp_error(exc) or attempts > settings.MAIL_MAX_RETRIES:
        mail.welcome_mail_failed(order_id=order_id, reason=reason)
        return None
    countdown = backoff(settings.MAIL_RETRY_BASE_SECONDS, attempts - 1)
    mail.welcome_mail_attempt_failed(
        order_id=order_id, reason=f"attempt {attempts}: {reason}", retry_in=countdown
    )
    return countdown


def _send_welcome_mails(order_ids: list[int]) -> dict[int, float]:
    """Send these orders' welcome mails; return the orders to try again, with the seconds to wait."""
    _sent, failures = mail.welcome_mails_send(order_ids=order_ids)
    retries = {}
    for order_id, exc in failures.items():
        retry_in = _mail_failed(order_id, exc)
        if retry_in is not None:
            retries[order_id] = retry_in
    return retries


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=120, max_retries=10)
def fulfil_order(order_id: int) -> str:
    """Fulfil the order, with a batch of other placed orders, then send their welcome mails in the same task.

    One task per order on the happy path, and fewer transactions than orders under load: a copy of this
    task that finds its order already fulfilled by another batch only sends the mail if it is still due.
    """
    outcome = services.orders_fulfil(
        order_id=order_id, batch=settings.ORDER_FULFIL_BATCH, wait=False, enqueue_mail=False
    )
    to_mail = outcome.to_mail or ([order_id] if outcome.mail_queued else [])
    for failed_id, retry_in in _send_welcome_mails(to_mail).items():
        send_welcome_mail.apply_async((failed_id,), countdown=retry_in)
    return outcome.status or "held elsewhere"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=120, max_retries=10)
def fulfil_placed() -> int:
    """A placement's wake-up (at most one waits in the queue, however many orders are placed meanwhile):
    fulfil a batch of the orders placed (a full one wakes the next worker, which takes the next batch),
    then send the batch's welcome mails."""
    services.fulfilment_woken()
    outcome = services.orders_fulfil_placed(batch=settings.ORDER_FULFIL_BATCH)
    for failed_id, retry_in in _send_welcome_mails(outcome.to_mail).items():
        send_welcome_mail.apply_async((failed_id,), countdown=retry_in)
    return len(outcome.to_mail)


@shared_task(bind=True, max_retries=None)
def send_welcome_mail(self: Any, order_id: int) -> None:
    """The welcome mail on its own (resends, retries, the sweeper): SMTP errors retry with growing gaps."""
    retry_in = _send_welcome_mails([order_id]).get(order_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task
def sweep_orders() -> dict[str, int]:
    return services.orders_sweep()


@shared_task
def retry_orders_for_products(product_ids: list[int]) -> int:
    return services.orders_retry_for_products(product_ids=product_ids)


@shared_task(bind=True, max_retries=None)
def request_vendor_keys(self: Any, request_id: int) -> str:
    try:
        return services.vendor_request_run(request_id=request_id)
    except VendorTemporaryError as exc:
        if self.request.retries >= settings.VENDOR_MAX_RETRIES:
            request = VendorRequest.objects.get(pk=request_id)
            services.vendor_request_failed(request=request, reason=f"gave up after retries: {exc}")
            return request.status
        raise self.retry(exc=exc, countdown=backoff(5.0, self.request.retries)) from None


@shared_task(autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=60, max_retries=10)
def mail_staff_alert(alert_id: int) -> None:

    staff_alert_mail(alert_id=alert_id)


@shared_task(bind=True, max_retries=None)
def send_correction_notice(self: Any, correction_id: int) -> bool:
    """The notice to an order's previous address (ESD-14): SMTP errors retry with growing gaps, counted on
    the correction (at most MAIL_MAX_RETRIES + 1 tries, however the task is re-delivered); a 5xx refusal or
    the last try gives up and alerts staff. A lost retry is picked up by the sweeper."""

    try:
        return mail.correction_notice_send(correction_id=correction_id)
    except (smtplib.SMTPException, OSError) as exc:
        attempts = (
            EmailCorrection.objects.filter(pk=correction_id).values_list("notice_attempts", flat=True).first()
            or 0
        )
        if is_permanent_smtp_error(exc) or attempts > settings.MAIL_MAX_RETRIES:
            services.correction_notice_failed(
                correction_id=correction_id, reason=f"{exc.__class__.__name__}: {str(exc)[:150]}"
            )
            return False
        countdown = backoff(settings.MAIL_RETRY_BASE_SECONDS, attempts - 1)
        retry_at = timezone.now() + timedelta(seconds=countdown + settings.ORDER_SWEEP_INTERVAL)
        EmailCorrection.objects.filter(pk=correction_id, notice_sent_at__isnull=True).update(
            notice_next_attempt_at=retry_at
        )
        raise self.retry(countdown=countdown) from None
