"""The welcome mail (ESD-9): how to open the locker and where to download each product. Never a key."""

from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import timedelta
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import Order, OrderEvent
from .signals import nudge_after_commit

logger = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL + path


def set_password_url(user: Any) -> str:
    """A link into allauth's reset-from-key form for this account; it dies once a password is set."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    return _absolute(path)


def build_welcome_mail(order: Order) -> EmailMultiAlternatives:
    account = order.end_customer
    assert account is not None
    products = [line.product for line in order.lines.select_related("product")]
    context = {
        "order": order,
        "reseller_name": order.reseller.name,
        "products": products,
        "has_password": account.has_usable_password(),
        "set_password_url": None if account.has_usable_password() else set_password_url(account),
        "login_url": _absolute(reverse("account_login")),
        "reset_url": _absolute(reverse("account_reset_password")),
        "locker_url": _absolute(reverse("locker:index")),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("orders/email/welcome_subject.txt", context).strip()
        text = render_to_string("orders/email/welcome.txt", context)
        html = render_to_string("orders/email/welcome.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.LOCKER_EMAIL_FROM, to=[account.email]
    )
    message.attach_alternative(html, "text/html")
    return message


_connection: Any = None
_connection_for: tuple[Any, ...] = ()


def smtp_connection() -> Any:
    """One open SMTP connection per worker process, reused from mail to mail (no handshake per mail)."""
    global _connection, _connection_for
    target = (settings.EMAIL_BACKEND, getattr(settings, "EMAIL_HOST", ""), getattr(settings, "EMAIL_PORT", 0))
    if _connection is not None and _connection_for != target:
        close_smtp_connection()
    if _connection is None:
        _connection = get_connection(fail_silently=False)
        _connection.open()
        _connection_for = target
    return _connection


def close_smtp_connection() -> None:
    global _connection
    if _connection is not None:
        with contextlib.suppress(Exception):  # closing a broken connection may fail; it is dropped anyway
            _connection.close()
        _connection = None


def welcome_mail_send(*, order_id: int) -> bool:
    """Send the order's welcome mail once; True if this call sent it.

    The sender first claims the order with a conditional update, so the same task delivered several times
    at once sends one mail, without holding a row lock while the SMTP server answers. SMTP errors release
    the claim and propagate to the task, which retries with backoff.
    """
    now = timezone.now()
    claim_until = now + timedelta(seconds=3 * settings.EMAIL_TIMEOUT + 30)
    claimed = (
        Order.objects.filter(
            pk=order_id, status=Order.Status.FULFILLED, welcome_mail_status=Order.MailStatus.QUEUED
        )
        .filter(Q(welcome_mail_claimed_until__isnull=True) | Q(welcome_mail_claimed_until__lt=now))
        .update(welcome_mail_claimed_until=claim_until, welcome_mail_attempts=F("welcome_mail_attempts") + 1)
    )
    if not claimed:
        return False  # sent already, being sent, or corrected meanwhile (ESD-14: no automatic mail)
    order = Order.objects.select_related("end_customer", "reseller").get(pk=order_id)
    try:
        message = build_welcome_mail(order)
        message.connection = smtp_connection()
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPServerDisconnected:
            # The reused connection went stale (the server closed it while idle): one fresh try.
            close_smtp_connection()
            message.connection = smtp_connection()
            message.send(fail_silently=False)
    except BaseException:
        Order.objects.filter(pk=order_id).update(welcome_mail_claimed_until=None)
        close_smtp_connection()  # a broken connection is not reused
        raise
    with transaction.atomic():
        now = timezone.now()
        Order.objects.filter(pk=order_id).update(
            welcome_mail_status=Order.MailStatus.SENT,
            welcome_mail_sent_at=now,
            welcome_mail_error="",
            welcome_mail_claimed_until=None,
            next_attempt_at=None,
            updated_at=now,
        )
        OrderEvent.objects.create(order_id=order_id, kind=OrderEvent.Kind.WELCOME_MAIL_SENT, at=now)
    return True


def is_permanent_smtp_error(exc: BaseException) -> bool:
    """A 5xx answer (no such mailbox, refused) will not change on retry; 4xx and network errors may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def welcome_mail_failed(*, order_id: int, reason: str) -> None:
    """Give up visibly: the reseller sees the failure and its reason (ESD-12), staff are told."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.welcome_mail_status != Order.MailStatus.QUEUED:
            return
        now = timezone.now()
        order.welcome_mail_status = Order.MailStatus.FAILED
        order.welcome_mail_error = reason[:300]
        order.next_attempt_at = None
        order.updated_at = now
        order.save(
            update_fields=["welcome_mail_status", "welcome_mail_error", "next_attempt_at", "updated_at"]
        )
        OrderEvent.objects.create(
            order=order, kind=OrderEvent.Kind.WELCOME_MAIL_FAILED, at=now, data={"reason": reason[:300]}
        )
        from .alerts import staff_alert_raise

        staff_alert_raise(
            kind="welcome_mail_failed",
            order_id=order.pk,
            message=f"The welcome mail of order #{order.pk} to {order.end_customer_email} failed for good: "
            f"{reason[:250]}",
        )
        nudge_after_commit()
    logger.warning("Welcome mail for order %s failed for good: %s", order_id, reason[:300])


def welcome_mail_attempt_failed(*, order_id: int, reason: str, retry_in: float) -> int:
    """Record a failed attempt (the reseller sees the SMTP reason while retries go on); return the attempts.

    The sweeper is told to look only after the retry is due, so it never starts a second retry chain.
    """
    now = timezone.now()
    Order.objects.filter(pk=order_id, welcome_mail_status=Order.MailStatus.QUEUED).update(
        welcome_mail_error=reason[:300],
        next_attempt_at=now + timedelta(seconds=retry_in + settings.ORDER_SWEEP_INTERVAL),
    )
    return Order.objects.filter(pk=order_id).values_list("welcome_mail_attempts", flat=True).first() or 0
