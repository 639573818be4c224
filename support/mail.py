"""The support desk's mails, each sent once (``core.mail.send_once``: claim, check, send, record; the task
gives up with the reason): the confirmation with the request's number (SUP-7), the escalation of a breached
clock (SUP-8), the web form's confirmation link (SUP-6) and staff replies (SUP-12). None carries a secret;
a signed link (``support.tokens``) goes only to the address it names. Each builder reads its context in the
portal's language (the due date's format, the priority's name, the note on the clock are translated as
they are read); ``core.templated_mail`` renders the templates in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Model
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from core.mail import send_once
from core.templated_mail import templated_mail

from .models import Escalation, HeldWebRequest, Message, ReplyMail, SupportRequest
from .tokens import confirm_token, follow_token

M = TypeVar("M", bound=Model)


def _due_text(request: SupportRequest) -> str:
    if request.due_at is None:
        return ""
    return formats.date_format(timezone.localtime(request.due_at), "DATETIME_FORMAT")


def recipient(request: SupportRequest) -> str:
    """Where a request's mails go: its requester, else the web form's confirmed address (SUP-6)."""
    if request.requester is not None and request.requester.email:
        return str(request.requester.email)
    return request.contact_email


def request_link(request: SupportRequest) -> str:
    """The customer's way to the request: the help module, or a web-form request's signed follow link."""
    if request.requester is None and request.contact_email:
        return settings.PORTAL_BASE_URL + reverse("help:follow", args=[follow_token(request)])
    return settings.PORTAL_BASE_URL + reverse("support:detail", args=[request.pk])


def _row(model: type[M], pk: int, *related: str) -> Callable[[], M | None]:
    """``send_once``'s ``load``: the row ``pk`` of ``model`` with ``related`` joined, None once it is gone."""
    return lambda: model._default_manager.select_related(*related).filter(pk=pk).first()


def build_confirmation_mail(request: SupportRequest) -> EmailMultiAlternatives:
    assert recipient(request)
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "number": request.number,
            "subject": request.subject,
            "due": _due_text(request) if request.sla_state == SupportRequest.Sla.RUNNING else "",
            "no_clock": _("This request has no guaranteed answer time."),
            "request_url": request_link(request),
        }
    return templated_mail("support/email/confirmation", context, to=[recipient(request)])


def confirmation_send(*, request_id: int) -> str:
    """Send a request's confirmation mail once; ``"dropped"`` when its requester has no address."""
    return send_once(
        SupportRequest,
        request_id,
        load=_row(SupportRequest, request_id, "requester"),
        wanted=lambda request: bool(recipient(request)),
        build=build_confirmation_mail,
        dropped="Not sent: the requester has no address.",
    )


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
    return templated_mail(
        "support/email/escalation", context, to=list(settings.SUPPORT_ESCALATION_EMAILS), html=False
    )


def escalation_send(*, escalation_id: int) -> str:
    """Mail a breach to ``SUPPORT_ESCALATION_EMAILS`` once; ``"dropped"`` when none is configured or the
    request was answered before the mail went out."""
    return send_once(
        Escalation,
        escalation_id,
        load=_row(Escalation, escalation_id, "request__organisation"),
        wanted=lambda escalation: (
            bool(settings.SUPPORT_ESCALATION_EMAILS)
            and escalation.request.sla_state == SupportRequest.Sla.RUNNING
        ),
        build=build_escalation_mail,
        dropped="Not sent: no escalation address, or answered before it went out.",
    )


# --- The web form's confirmation link and staff replies (SUP-6, SUP-12; sup15b) ---------------------------


def build_web_confirm_mail(held: HeldWebRequest) -> EmailMultiAlternatives:
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "subject": held.subject,
            "confirm_url": settings.PORTAL_BASE_URL + reverse("help:confirm", args=[confirm_token(held)]),
            "days": settings.SUPPORT_WEB_FORM_HOLD_DAYS,
        }
    return templated_mail("support/email/web_confirm", context, to=[held.email], html=False)


def web_confirm_send(*, held_id: int) -> str:
    """Mail a held web-form request's confirmation link once; ``"dropped"`` once it is no longer held."""
    return send_once(
        HeldWebRequest,
        held_id,
        load=_row(HeldWebRequest, held_id),
        wanted=lambda held: held.state == HeldWebRequest.State.HELD,
        build=build_web_confirm_mail,
        dropped="Not sent: no longer held.",
    )


def build_reply_mail(reply: ReplyMail) -> EmailMultiAlternatives:
    message = reply.message
    request = message.request
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "number": request.number,
            "subject": request.subject,
            "body": message.body,
            "request_url": request_link(request),
        }
    return templated_mail("support/email/reply", context, to=[recipient(request)], html=False)


def reply_send(*, reply_mail_id: int) -> str:
    """Mail a staff public reply to the customer once; never an internal note (``"dropped"``)."""
    return send_once(
        ReplyMail,
        reply_mail_id,
        load=_row(ReplyMail, reply_mail_id, "message__request__requester"),
        wanted=lambda reply: (
            reply.message.kind == Message.Kind.PUBLIC_REPLY and bool(recipient(reply.message.request))
        ),
        build=build_reply_mail,
        dropped="Not sent: not a public reply, or nobody to send it to.",
    )
