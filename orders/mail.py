"""The welcome mail (ESD-9): how to open the locker and where to download each product. Never a key."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import Order, OrderEvent

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


def welcome_mail_send(*, order_id: int) -> bool:
    """Send the order's welcome mail once; True if this call sent it.

    The order row stays locked while the SMTP server is spoken to, so the same task delivered several
    times at once sends one mail. SMTP errors propagate to the task, which retries with backoff.
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("end_customer", "reseller")
            .get(pk=order_id)
        )
        if order.status != Order.Status.FULFILLED or order.welcome_mail_status != Order.MailStatus.QUEUED:
            return False  # done already, or corrected meanwhile (ESD-14: no automatic mail)
        build_welcome_mail(order).send(fail_silently=False)
        now = timezone.now()
        order.welcome_mail_status = Order.MailStatus.SENT
        order.welcome_mail_sent_at = now
        order.welcome_mail_error = ""
        order.updated_at = now
        order.save(
            update_fields=["welcome_mail_status", "welcome_mail_sent_at", "welcome_mail_error", "updated_at"]
        )
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_SENT, at=now)
    return True


def welcome_mail_failed(*, order_id: int, reason: str) -> None:
    """Give up visibly: the reseller sees the failure and its reason (ESD-12)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.welcome_mail_status != Order.MailStatus.QUEUED:
            return
        now = timezone.now()
        order.welcome_mail_status = Order.MailStatus.FAILED
        order.welcome_mail_error = reason[:300]
        order.updated_at = now
        order.save(update_fields=["welcome_mail_status", "welcome_mail_error", "updated_at"])
        OrderEvent.objects.create(
            order=order, kind=OrderEvent.Kind.WELCOME_MAIL_FAILED, at=now, data={"reason": reason[:300]}
        )
    logger.warning("Welcome mail for order %s failed for good: %s", order_id, reason[:300])


def welcome_mail_attempt_failed(*, order_id: int, reason: str, attempt: int) -> None:
    """Show the reseller the SMTP reason while retries go on (the status stays "queued")."""
    Order.objects.filter(pk=order_id, welcome_mail_status=Order.MailStatus.QUEUED).update(
        welcome_mail_error=f"attempt {attempt}: {reason}"[:300]
    )
