"""The support desk's mails, each sent once through the customer centre's send-once path (claim, check,
send, record; give up with the reason): the confirmation with the request's number (SUP-7) and the
escalation of a breached clock (SUP-8). Neither carries a secret."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from centre.mail import _give_up, _send_once

from .models import Escalation, SupportRequest


def _due_text(request: SupportRequest) -> str:
    if request.due_at is None:
        return ""
    return formats.date_format(timezone.localtime(request.due_at), "DATETIME_FORMAT")


def build_confirmation_mail(request: SupportRequest) -> EmailMultiAlternatives:
    assert request.requester is not None
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "number": request.number,
            "subject": request.subject,
            "due": _due_text(request) if request.sla_state == SupportRequest.Sla.RUNNING else "",
            "no_clock": _("This request has no guaranteed answer time."),
            "request_url": settings.PORTAL_BASE_URL + reverse("support:detail", args=[request.pk]),
        }
        subject = render_to_string("support/email/confirmation_subject.txt", context).strip()
        text = render_to_string("support/email/confirmation.txt", context)
        html = render_to_string("support/email/confirmation.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[request.requester.email]
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_send(*, request_id: int) -> str:
    """Send a request's confirmation mail once; ``"dropped"`` when its requester has no address."""
    return _send_once(
        SupportRequest,
        request_id,
        load=lambda: SupportRequest.objects.select_related("requester").filter(pk=request_id).first(),
        wanted=lambda request: bool(request.requester and request.requester.email),
        build=build_confirmation_mail,
        dropped="Not sent: the requester has no address.",
    )


def confirmation_failed(*, request_id: int, reason: str) -> None:
    _give_up(SupportRequest, request_id, reason)


def build_escalation_mail(escalation: Escalation) -> EmailMultiAlternatives:
    request = escalation.request
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "number": request.number,
            "subject": request.subject,
            "organisation": request.organisation.name,
            "due": _due_text(request),
            "priority": request.get_priority_display(),
            "admin_url": settings.PORTAL_BASE_URL
            + reverse("admin:support_supportrequest_change", args=[request.pk]),
        }
        subject = render_to_string("support/email/escalation_subject.txt", context).strip()
        text = render_to_string("support/email/escalation.txt", context)
    return EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(settings.SUPPORT_ESCALATION_EMAILS),
    )


def escalation_send(*, escalation_id: int) -> str:
    """Mail a breach to ``SUPPORT_ESCALATION_EMAILS`` once; ``"dropped"`` when none is configured or the
    request was answered before the mail went out."""
    return _send_once(
        Escalation,
        escalation_id,
        load=lambda: (
            Escalation.objects.select_related("request__organisation").filter(pk=escalation_id).first()
        ),
        wanted=lambda escalation: (
            bool(settings.SUPPORT_ESCALATION_EMAILS)
            and escalation.request.sla_state == SupportRequest.Sla.RUNNING
        ),
        build=build_escalation_mail,
        dropped="Not sent: no escalation address, or answered before it went out.",
    )


def escalation_failed(*, escalation_id: int, reason: str) -> None:
    _give_up(Escalation, escalation_id, reason)
