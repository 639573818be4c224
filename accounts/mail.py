"""The two mails of a person's own address change (``accounts.email_change``): the confirmation link to
the new address, and the notice to the previous one (masked, without a link, as ESD-14's notice). Each is
sent once: a worker claims it by a conditional update (``core.claims``), sends it and marks it sent; a
copy of the task, or a later run, finds it claimed or sent. Links are only in the mail to their owner:
never logged, stored or shown to anyone else."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.timezone import override as in_time_zone

from core.claims import claim

from .addresses import mask_address
from .email_change import email_change_token
from .models import AccountEvent, EmailChange

CLAIM_HOLD = timedelta(minutes=5)


def _mail(template: str, context: dict[str, object], *, to: str) -> EmailMultiAlternatives:
    with translation.override(settings.LANGUAGE_CODE), in_time_zone(settings.TIME_ZONE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach_alternative(html, "text/html")
    return message


def build_email_change_link(change: EmailChange) -> EmailMultiAlternatives:
    path = reverse("account_email:confirm", args=[email_change_token(change)])
    context = {
        "confirm_url": settings.PORTAL_BASE_URL + path,
        "hours": settings.EMAIL_CHANGE_HOURS,
        "from_masked": mask_address(change.from_email),
    }
    return _mail("accounts/email/email_change_link", context, to=change.to_email)


def build_email_change_notice(change: EmailChange) -> EmailMultiAlternatives:
    context = {
        "changed_at": change.confirmed_at,
        "to_masked": mask_address(change.to_email),
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }
    return _mail("accounts/email/email_change_notice", context, to=change.from_email)


def _send_once(
    change_id: int,
    *,
    prefix: str,
    wanted: Callable[[EmailChange], bool],
    build: Callable[[EmailChange], EmailMultiAlternatives],
) -> str:
    """``"sent"``, ``"done"`` (sent before, held by another worker, or gone) or ``"dropped"`` (no reason
    to go any more). An SMTP or network error is raised after the claim is released, for a retry."""
    claimed, _until = claim(
        EmailChange,
        [change_id],
        field=f"{prefix}_claimed_until",
        hold=CLAIM_HOLD,
        counter=f"{prefix}_attempts",
        **{f"{prefix}_sent_at": None, f"{prefix}_error": ""},
    )
    if not claimed:
        return "done"
    change = EmailChange.objects.select_related("user").filter(pk=change_id).first()
    if change is None:
        return "done"
    if not wanted(change):
        EmailChange.objects.filter(pk=change_id).update(
            **{f"{prefix}_claimed_until": None, f"{prefix}_error": "Not sent: no longer wanted."}
        )
        return "dropped"
    try:
        build(change).send()
    except (smtplib.SMTPException, OSError):
        EmailChange.objects.filter(pk=change_id).update(**{f"{prefix}_claimed_until": None})
        raise
    now = timezone.now()
    EmailChange.objects.filter(pk=change_id).update(
        **{f"{prefix}_sent_at": now, f"{prefix}_claimed_until": None, f"{prefix}_error": ""}
    )
    if prefix == "notice":
        AccountEvent.objects.create(
            user_id=change.user_id,
            at=now,
            kind=AccountEvent.Kind.EMAIL_CHANGE_NOTICE_SENT,
            data={"change": change.pk},
        )
    return "sent"


def email_change_link_send(*, change_id: int) -> str:
    """Mail the confirmation link to the new address, once; dropped when the request was replaced, used
    or the account moved meanwhile."""

    def wanted(change: EmailChange) -> bool:
        return change.status == EmailChange.Status.PENDING and change.user.email == change.from_email

    return _send_once(change_id, prefix="mail", wanted=wanted, build=build_email_change_link)


def email_change_notice_send(*, change_id: int) -> str:
    """Tell the previous address of a confirmed change, once."""
    return _send_once(
        change_id,
        prefix="notice",
        wanted=lambda change: change.status == EmailChange.Status.CONFIRMED,
        build=build_email_change_notice,
    )


def email_change_mail_failed(*, change_id: int, prefix: str, reason: str) -> None:
    """Given up: the SMTP answer (never the link) is kept for staff; nothing retries it."""
    EmailChange.objects.filter(pk=change_id, **{f"{prefix}_sent_at": None}).update(
        **{f"{prefix}_error": reason[:300] or "failed", f"{prefix}_claimed_until": None}
    )
