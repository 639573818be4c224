"""The welcome mail (ESD-9): how to open the locker and where to download each product. Never a key."""

from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import timedelta
from functools import partial
from typing import Any

from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.addresses import mask_address
from core.claims import claim
from core.tasking import enqueue_on_commit
from core.templated_mail import templated_mail

from .alerts import staff_alert_raise
from .models import EmailCorrection, Order, OrderEvent, OrderLine
from .services.states import MAIL_STATES
from .signals import nudge_after_commit
from .tokens import welcome_link_tokens

logger = logging.getLogger(__name__)


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL + path


def set_password_url(user: Any, order: Order | None = None) -> str:
    """A link into allauth's reset-from-key form for this account; it dies once a password is set. With an
    order, the link belongs to that order (orders.tokens): its resend or correction kills it, other orders'
    do not."""
    key = (
        welcome_link_tokens.make_order_token(user, order)
        if order is not None
        else welcome_link_tokens.make_token(user)
    )
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key})
    return _absolute(path)


def build_welcome_mail(order: Order, products: list[Any] | None = None) -> EmailMultiAlternatives:
    account = order.end_customer
    assert account is not None
    if products is None:
        products = [line.product for line in order.lines.select_related("product")]
    context = {
        "order": order,
        "reseller_name": order.reseller.name,
        "products": products,
        "has_password": account.has_usable_password(),
        "set_password_url": None if account.has_usable_password() else set_password_url(account, order),
        "login_url": _absolute(reverse("account_login")),
        "reset_url": _absolute(reverse("account_reset_password")),
        "locker_url": _absolute(reverse("locker:index")),
    }
    return _locker_mail("orders/email/welcome", context, to=account.email)


def _locker_mail(template: str, context: dict[str, Any], *, to: str) -> EmailMultiAlternatives:
    """A mail from the locker's domain (ESD-9), rendered in the portal's language and time zone (a worker
    has no request to take them from)."""
    return templated_mail(
        template, context, to=[to], from_email=settings.LOCKER_EMAIL_FROM, tz=settings.TIME_ZONE
    )


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
    """Send the order's welcome mail once; True if this call sent it (see ``welcome_mails_send``).

    SMTP errors propagate to the caller (the task), which retries with backoff.
    """
    sent, failures = welcome_mails_send(order_ids=[order_id])
    if order_id in failures:
        raise failures[order_id]
    return order_id in sent


def _claim(order_ids: list[int]) -> tuple[list[int], Any]:
    """Claim the welcome mails of these orders that are due and no other sender holds (core.claims), so the
    same task delivered several times at once sends one mail; return the orders claimed and when the claim
    lapses."""
    return claim(
        Order,
        order_ids,
        field="welcome_mail_claimed_until",
        hold=timedelta(seconds=3 * settings.EMAIL_TIMEOUT + 30),
        counter="welcome_mail_attempts",
        status=Order.Status.FULFILLED,
        welcome_mail_status=Order.MailStatus.QUEUED,
    )


def welcome_mails_send(*, order_ids: list[int]) -> tuple[list[int], dict[int, Exception]]:
    """Send the welcome mails of these orders over one SMTP connection; return (sent, failures).

    Orders whose mail was sent already, is being sent, or was stopped by a correction (ESD-14: no automatic
    mail) are skipped. A mail the SMTP server refused releases its claim and is returned with its error,
    for the caller to retry or give up. Each mail is recorded as sent as soon as the server took it, so a
    worker killed in the middle of a batch can repeat at most the one mail it was sending. Should a slow
    server bring the claim near its end, the mails not yet sent are released and queued on their own.
    """
    if not order_ids:
        return [], {}
    claimed, until = _claim(order_ids)
    if not claimed:
        return [], {}
    orders = Order.objects.filter(pk__in=claimed).select_related("end_customer", "reseller").order_by("pk")
    products: dict[int, list[Any]] = {}
    for line in OrderLine.objects.filter(order__in=claimed).select_related("product").order_by("id"):
        products.setdefault(line.order_id, []).append(line.product)
    sent: list[int] = []
    failures: dict[int, Exception] = {}
    last_safe_start = until - timedelta(seconds=3 * settings.EMAIL_TIMEOUT)
    for order in orders:
        if timezone.now() >= last_safe_start:
            _release_unsent(claimed, sent, failures, until)
            break
        try:
            _send(build_welcome_mail(order, products.get(order.pk, [])))
        except Exception as exc:
            Order.objects.filter(pk=order.pk).update(welcome_mail_claimed_until=None)
            close_smtp_connection()  # a broken connection is not reused
            failures[order.pk] = exc
            continue
        _record_sent(order.pk)
        sent.append(order.pk)
    return sent, failures


def _release_unsent(claimed: list[int], sent: list[int], failures: dict[int, Exception], until: Any) -> None:

    rest = [pk for pk in claimed if pk not in failures and pk not in sent]
    Order.objects.filter(pk__in=rest, welcome_mail_claimed_until=until).update(
        welcome_mail_claimed_until=None
    )
    for pk in rest:  # a broker outage is logged, not raised: the sweeper sends these later (ALL-5)
        enqueue_on_commit("orders.tasks.send_welcome_mail", pk)


def _record_sent(order_id: int) -> bool:
    """Mark the mail sent and add its event, atomically, by one conditional UPDATE (MAIL_STATES.move_row):
    no row lock is taken on the busiest path of a promotion, and of two senders that both got a mail out
    (a claim that lapsed under a slow server) only one records it. True if this call recorded it."""
    now = timezone.now()
    return MAIL_STATES.move_row(
        Order,
        order_id,
        Order.MailStatus.SENT,
        event=partial(OrderEvent.objects.create, order_id=order_id, kind=OrderEvent.Kind.WELCOME_MAIL_SENT),
        now=now,
        welcome_mail_sent_at=now,
        welcome_mail_error="",
        welcome_mail_claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
    )


def _send(message: EmailMultiAlternatives) -> None:
    message.connection = smtp_connection()
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPServerDisconnected:
        # The reused connection went stale (the server closed it while idle): one fresh try.
        close_smtp_connection()
        message.connection = smtp_connection()
        message.send(fail_silently=False)


def welcome_mail_failed(*, order_id: int, reason: str) -> None:
    """Give up visibly: the reseller sees the failure and its reason (ESD-12), staff are told."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if not MAIL_STATES.allows(order, Order.MailStatus.FAILED):  # sent, or stopped by a correction
            return
        now = timezone.now()
        MAIL_STATES.move(
            order,
            Order.MailStatus.FAILED,
            event=partial(
                OrderEvent.objects.create,
                order=order,
                kind=OrderEvent.Kind.WELCOME_MAIL_FAILED,
                data={"reason": reason[:300]},
            ),
            now=now,
            welcome_mail_error=reason[:300],
            next_attempt_at=None,
            updated_at=now,
        )

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


# --- the notice to the previous address (ESD-14) ------------------------------------------------------
def build_correction_notice(correction: Any) -> EmailMultiAlternatives:
    """Tell the previous address that an order's address was changed: when, by which reseller, to which
    address (masked) and whom to contact. No link: it must open nothing, wherever it lands."""

    order = correction.order
    context = {
        "order_id": order.pk,
        "reseller_name": order.reseller.name,
        "requested_at": correction.requested_at,
        "to_masked": mask_address(correction.to_email),
        # Held for review when it was asked for (told as such even once staff have decided).
        "pending_review": correction.status == correction.Status.PENDING_REVIEW
        or correction.reviewed_at is not None,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }
    return _locker_mail("orders/email/correction_notice", context, to=correction.from_email)


def correction_notice_send(*, correction_id: int) -> bool:
    """Send the notice once; True if this call sent it. Claimed by a conditional update, so copies of the
    task send one mail; SMTP errors release the claim and propagate to the task, which retries."""

    claimed, _until = claim(
        EmailCorrection,
        [correction_id],
        field="notice_claimed_until",
        hold=timedelta(seconds=3 * settings.EMAIL_TIMEOUT + 30),
        counter="notice_attempts",
        notice_sent_at__isnull=True,
    )
    if not claimed:
        return False
    correction = EmailCorrection.objects.select_related("order__reseller").get(pk=correction_id)
    try:
        _send(build_correction_notice(correction))
    except Exception:
        EmailCorrection.objects.filter(pk=correction_id).update(notice_claimed_until=None)
        close_smtp_connection()
        raise
    sent_at = timezone.now()
    with transaction.atomic():
        EmailCorrection.objects.filter(pk=correction_id).update(
            notice_sent_at=sent_at, notice_claimed_until=None, notice_next_attempt_at=None
        )
        OrderEvent.objects.create(
            order_id=correction.order_id,
            kind=OrderEvent.Kind.CORRECTION_NOTICE_SENT,
            at=sent_at,
            data={"correction": correction_id},
        )
    return True
