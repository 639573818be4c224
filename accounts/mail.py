"""The two mails of a person's own address change (``accounts.email_change``): the confirmation link to
the new address, and the notice to the previous one (masked, without a link, as ESD-14's notice). Each is
sent once (``core.mail.send_once``; the link's columns are ``mail_*``, the notice's ``notice_*``): a
worker claims it by a conditional update, sends it and marks it sent; a copy of the task, or a later run,
finds it claimed or sent. Links are only in the mail to their owner: never logged, stored or shown to
anyone else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.mail import send_once
from core.templated_mail import templated_mail

from .addresses import mask_address
from .email_change import email_change_token
from .models import AccountEvent, EmailChange


def build_email_change_link(change: EmailChange) -> EmailMultiAlternatives:
    path = reverse("account_email:confirm", args=[email_change_token(change)])
    context = {
        "confirm_url": settings.PORTAL_BASE_URL + path,
        "hours": settings.EMAIL_CHANGE_HOURS,
        "from_masked": mask_address(change.from_email),
    }
    return templated_mail(
        "accounts/email/email_change_link", context, to=[change.to_email], tz=settings.TIME_ZONE
    )


def build_email_change_notice(change: EmailChange) -> EmailMultiAlternatives:
    context = {
        "changed_at": change.confirmed_at,
        "to_masked": mask_address(change.to_email),
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }
    return templated_mail(
        "accounts/email/email_change_notice", context, to=[change.from_email], tz=settings.TIME_ZONE
    )


def _send_change_mail(
    change_id: int,
    *,
    prefix: str,
    wanted: Callable[[EmailChange], bool],
    build: Callable[[EmailChange], EmailMultiAlternatives],
    on_sent: Callable[[EmailChange, datetime], None] | None = None,
) -> str:
    """One of the two mails of a change (``prefix``: ``"mail"`` for the link, ``"notice"``), sent once."""
    return send_once(
        EmailChange,
        change_id,
        load=lambda: EmailChange.objects.select_related("user").filter(pk=change_id).first(),
        wanted=wanted,
        build=build,
        dropped="Not sent: no longer wanted.",
        prefix=prefix,
        on_sent=on_sent,
    )


def email_change_link_send(*, change_id: int) -> str:
    """Mail the confirmation link to the new address, once; dropped when the request was replaced, used
    or the account moved meanwhile."""

    def wanted(change: EmailChange) -> bool:
        return change.status == EmailChange.Status.PENDING and change.user.email == change.from_email

    return _send_change_mail(change_id, prefix="mail", wanted=wanted, build=build_email_change_link)


def email_change_notice_send(*, change_id: int) -> str:
    """Tell the previous address of a confirmed change, once."""

    def told(change: EmailChange, at: datetime) -> None:
        AccountEvent.objects.create(
            user_id=change.user_id,
            at=at,
            kind=AccountEvent.Kind.EMAIL_CHANGE_NOTICE_SENT,
            data={"change": change.pk},
        )

    return _send_change_mail(
        change_id,
        prefix="notice",
        wanted=lambda change: change.status == EmailChange.Status.CONFIRMED,
        build=build_email_change_notice,
        on_sent=told,
    )
