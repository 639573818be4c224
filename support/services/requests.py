"""Support requests (SUP-4..9, SVC-6): filing, the conversation, status moves, attachments.

``request_file`` takes a request in: a support request checks its entitlement and binds its host
(``entitlement``), a pre-sales question (SVC-6) needs neither; the category decides whether support covers
it (SUP-9); the number ``SUP-<year>-<n>`` is taken from the year's sequence row inside the same transaction
(gapless: a refusal after it gives it back); the clock starts (``sla``); an automatic acknowledgement is
written and the confirmation mail is enqueued after commit. The request's status moves only through
``MACHINE`` (``core.states``), each move a ``SupportEvent`` (ALL-3).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from catalog.models import Product
from centre.models import Licence
from core.ids import id_or_none
from core.sequences import take_numbers
from core.states import StateMachine
from core.tasking import enqueue_on_commit

from ..errors import SupportError
from ..models import (
    CHANNEL_RANK,
    COVERED_CATEGORIES,
    Attachment,
    Category,
    Channel,
    Kind,
    Message,
    ReplyMail,
    RequestNumberSequence,
    SupportEvent,
    SupportRequest,
)
from . import credentials, entitlement, sla

Status = SupportRequest.Status
SUBJECT_MAX = 200
BODY_MAX = 20_000
STANDARD_EDITION = "STANDARD"

MACHINE = StateMachine(
    transitions={
        Status.NEW: {Status.OPEN, Status.WAITING, Status.ANSWERED, Status.CLOSED},
        Status.OPEN: {Status.WAITING, Status.ANSWERED, Status.CLOSED},
        Status.WAITING: {Status.OPEN, Status.ANSWERED, Status.CLOSED},
        Status.ANSWERED: {Status.OPEN, Status.WAITING, Status.CLOSED},
        Status.CLOSED: {Status.OPEN},
    },
    refuse=lambda request, to: SupportError(
        "status_move",
        _("A request cannot go from “%(from)s” to “%(to)s”.") % {"from": request.status, "to": to},
    ),
)


def request_number_issue(*, today: Any = None) -> str:
    """The next request number of the year (SUP-7); inside the filing transaction (see core.sequences)."""
    year = (today or timezone.localdate()).year
    return f"SUP-{year}-{take_numbers(RequestNumberSequence, year=year)}"


def _clean_text(value: str, *, field: str, limit: int, missing: str) -> str:
    text = "".join(ch for ch in (value or "") if ch.isprintable() or ch in "\n\t").replace("\r", "").strip()
    if not text:
        raise SupportError(f"{field}_missing", missing, field=field)
    if len(text) > limit:
        raise SupportError(f"{field}_too_long", _("At most %(n)d characters.") % {"n": limit}, field=field)
    return text


def coverage(*, category: str, licence: Any, product: Product | None) -> tuple[str, bool, str]:
    """SUP-9: the category as recorded, whether support covers it, and why not. Installation help is not
    for the STANDARD edition, and is given once per entitlement: a second one is a repeat installation."""
    if category not in Category.values:
        raise SupportError("category_missing", _("Choose what your request is about."), field="category")
    if category not in COVERED_CATEGORIES:
        return category, False, SupportRequest.NotCovered.CATEGORY
    if category == Category.INSTALLATION:
        edition = (licence.edition or (product.edition if product else "")).strip().upper()
        if edition == STANDARD_EDITION:
            return category, False, SupportRequest.NotCovered.STANDARD_EDITION
        if SupportRequest.objects.filter(
            licence=licence, category=Category.INSTALLATION, covered=True
        ).exists():
            return Category.REPEAT_INSTALLATION, False, SupportRequest.NotCovered.REPEAT_INSTALLATION
    return category, True, ""


def attachment_stash(*, organisation: Organisation, user: Any, upload: UploadedFile) -> Attachment:
    """Keep an uploaded file as a pending attachment of ``user`` (ALL-2: a refused form shows it again),
    refused above ``SUPPORT_ATTACHMENT_MAX_BYTES``."""
    limit = int(settings.SUPPORT_ATTACHMENT_MAX_BYTES)
    if upload.size is None or upload.size > limit:
        raise SupportError(
            "attachment_too_large",
            _("%(name)s is larger than %(limit)s.") % {"name": upload.name, "limit": filesizeformat(limit)},
            field="attachments",
        )
    name = "".join(ch for ch in (upload.name or "") if ch.isprintable()).strip()[:200] or "attachment"
    attachment = Attachment(
        organisation=organisation,
        uploaded_by=user,
        name=name,
        size=upload.size,
        content_type=(upload.content_type or "")[:100],
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


def too_many_attachments() -> SupportError:
    """The refusal of more files than one message takes (``SUPPORT_ATTACHMENTS_PER_MESSAGE``)."""
    limit = int(settings.SUPPORT_ATTACHMENTS_PER_MESSAGE)
    return SupportError(
        "too_many_attachments", _("At most %(n)d files per message.") % {"n": limit}, field="attachments"
    )


def pending_attachments(*, organisation: Organisation, user: Any, ids: Sequence[Any]) -> list[Attachment]:
    """The user's own pending attachments among ``ids`` (anything else is ignored: ALL-1)."""
    limit = int(settings.SUPPORT_ATTACHMENTS_PER_MESSAGE) * 2
    clean = [i for i in map(id_or_none, ids) if i is not None][:limit]
    return list(
        Attachment.objects.filter(
            organisation=organisation, uploaded_by=user, request=None, pk__in=clean
        ).order_by("pk")
    )


def _take_attachments(
    request: SupportRequest, message: Message, *, organisation: Organisation, user: Any, ids: Sequence[Any]
) -> None:
    found = pending_attachments(organisation=organisation, user=user, ids=ids)
    if len(found) > int(settings.SUPPORT_ATTACHMENTS_PER_MESSAGE):
        raise too_many_attachments()
    if found:
        Attachment.objects.filter(pk__in=[a.pk for a in found], request=None).update(
            request=request, message=message
        )


def _acknowledgement(request: SupportRequest) -> str:
    text = _("Thank you. We received your request and gave it the number %(number)s.") % {
        "number": request.number
    }
    if request.sla_state == SupportRequest.Sla.RUNNING and request.due_at:
        text += " " + _("Our first answer is due by %(due)s (72 hours on working days).") % {
            "due": formats.date_format(timezone.localtime(request.due_at), "DATETIME_FORMAT")
        }
    elif request.channel == Channel.EMAIL:
        text += " " + _("Requests sent by e-mail have no guaranteed answer time.")
    elif not request.covered:
        text += " " + _(
            "Support does not cover this request (%(why)s), so it has no guaranteed answer time; we will "
            "tell you what we can offer."
        ) % {"why": request.get_not_covered_display()}
    return text


def request_file(
    *,
    organisation: Organisation,
    requester: Any,
    kind: str,
    subject: str,
    body: str,
    support_number: str = "",
    url: str = "",
    category: str = "",
    channel: str = Channel.MODULE,
    attachment_ids: Sequence[Any] = (),
    now: datetime | None = None,
    bind: bool = True,
    contact_email: str = "",
) -> SupportRequest:
    """File a request of ``organisation`` (SUP-4..9, SVC-6); ``SupportError`` by field when it is refused,
    with nothing stored (the pending attachments stay pending for the form to show again)."""
    now = now or timezone.now()
    if kind not in (Kind.SUPPORT, Kind.PRE_SALES):
        raise SupportError(
            "kind_invalid", _("Choose a support request or a pre-sales question."), field="kind"
        )
    subject = _clean_text(subject, field="subject", limit=SUBJECT_MAX, missing=_("Enter a subject."))
    body = _clean_text(body, field="body", limit=BODY_MAX, missing=_("Describe what you need."))
    licence = None
    clean_url, host = "", ""
    covered, not_covered = True, ""
    if kind == Kind.SUPPORT:
        licence = entitlement.entitlement_find(
            organisation=organisation, support_number=support_number, today=timezone.localdate(now)
        )
        clean_url, host = entitlement.url_clean(url)
        if category not in Category.values:
            raise SupportError("category_missing", _("Choose what your request is about."), field="category")
    else:
        category = ""
        if (url or "").strip():
            clean_url, host = entitlement.url_clean(url)
    calendar = sla.working_calendar(around=now)
    with transaction.atomic():
        if licence is not None:
            # The licence's row lock makes its requests file one after another: the first installation
            # help is covered once (SUP-9) however many arrive at the same moment.
            Licence.objects.select_for_update().filter(pk=licence.pk).first()
            category, covered, not_covered = coverage(
                category=category, licence=licence, product=licence.product
            )
            if bind:
                entitlement.entitlement_bind(licence=licence, host=host, actor=requester, now=now)
            else:  # a web-form request never binds (SUP-5): only an unbound or same-host licence
                entitlement.entitlement_check_host(licence=licence, host=host)
        request = SupportRequest(
            number=request_number_issue(today=timezone.localdate(now)),
            organisation=organisation,
            requester=requester,
            kind=kind,
            channel=channel,
            channel_rank=CHANNEL_RANK[Channel(channel)],
            licence=licence,
            url=clean_url,
            host=host,
            category=category,
            covered=covered,
            not_covered=not_covered,
            subject=subject,
            created_at=now,
            contact_email=contact_email,
        )
        request.save()
        SupportEvent.objects.create(
            request=request, kind=SupportEvent.Kind.FILED, actor=requester, at=now, data={"channel": channel}
        )
        sla.clock_begin(request, now=now, calendar=calendar)
        request.save(update_fields=sla._CLOCK_FIELDS)
        message = Message.objects.create(
            request=request, author=requester, kind=Message.Kind.CUSTOMER, body=body, created_at=now
        )
        _take_attachments(request, message, organisation=organisation, user=requester, ids=attachment_ids)
        Message.objects.create(
            request=request, kind=Message.Kind.ACKNOWLEDGEMENT, body=_acknowledgement(request), created_at=now
        )
        if (requester is not None and requester.email) or contact_email:
            enqueue_on_commit("support.tasks.send_confirmation", request.pk)
    return request


def _locked(queryset: Any, request_id: Any) -> SupportRequest:
    request = queryset.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise SupportError("not_found", _("No such request."))
    return request


def _move(
    request: SupportRequest, to: str, *, actor: Any, now: datetime, calendar: Any, extra: Sequence[str] = ()
) -> list[str]:
    """The status move with its effect on the clock, saved with ``extra`` fields; the fields saved."""
    before = request.status
    fields = list(extra)
    if to == Status.WAITING:
        fields += sla.clock_pause(request, now=now, actor=actor, calendar=calendar)
    elif to == Status.CLOSED:
        fields += sla.clock_stop(request, now=now, actor=actor, reason="closed", calendar=calendar)
    else:
        # Any other move ends the wait for the customer (answered by another way, opened again by their
        # reply): a paused clock runs again, until a public reply stops it (SUP-8); so does the clock of a
        # request closed before its first answer and opened again.
        fields += sla.clock_resume(request, now=now, actor=actor, calendar=calendar)
        if before == Status.CLOSED:
            fields += sla.clock_reopen(request, now=now, actor=actor, calendar=calendar)
    fields += MACHINE.apply(request, to)
    request.save(update_fields=sorted(set(fields)))
    if to == Status.CLOSED:
        # SUP-10: credentials given with the request are destroyed when it closes (a reopened one asks again).
        credentials.credentials_destroy(request=request, actor=actor, now=now)
    SupportEvent.objects.create(
        request=request, kind=SupportEvent.Kind.STATUS, actor=actor, at=now, data={"from": before, "to": to}
    )
    return fields


def request_customer_reply(
    *,
    organisation: Organisation,
    request_id: Any,
    author: Any,
    body: str,
    attachment_ids: Sequence[Any] = (),
    now: datetime | None = None,
) -> Message:
    """The customer answers (SUP-7): a request waiting for them runs its clock again (SUP-8), an answered
    or closed one opens again. Another organisation's request: ``not_found`` (ALL-1)."""
    now = now or timezone.now()
    body = _clean_text(body, field="body", limit=BODY_MAX, missing=_("Write your answer."))
    calendar = sla.working_calendar(around=now)
    with transaction.atomic():
        request = _locked(SupportRequest.objects.for_org(organisation), request_id)
        message = Message.objects.create(
            request=request, author=author, kind=Message.Kind.CUSTOMER, body=body, created_at=now
        )
        _take_attachments(request, message, organisation=organisation, user=author, ids=attachment_ids)
        if request.status in (Status.WAITING, Status.ANSWERED, Status.CLOSED):
            _move(request, Status.OPEN, actor=author, now=now, calendar=calendar)
    return message


def request_staff_reply(
    *,
    request_id: Any,
    author: Any,
    body: str,
    internal: bool,
    status: str = "",
    now: datetime | None = None,
) -> Message:
    """Staff write on a request: a public reply (shown and mailed to the customer) stops the first-answer
    clock and marks it answered; an internal note changes nothing the customer sees (SUP-8, SUP-12).
    ``status`` moves the request too (waiting for the customer pauses the clock)."""
    now = now or timezone.now()
    body = _clean_text(body, field="body", limit=BODY_MAX, missing=_("Write the reply."))
    calendar = sla.working_calendar(around=now)
    with transaction.atomic():
        request = _locked(SupportRequest.objects.all(), request_id)
        kind = Message.Kind.INTERNAL_NOTE if internal else Message.Kind.PUBLIC_REPLY
        message = Message.objects.create(request=request, author=author, kind=kind, body=body, created_at=now)
        if not internal:  # mailed to the customer after commit, once; an internal note never is
            reply_mail = ReplyMail.objects.create(message=message, created_at=now)
            enqueue_on_commit("support.tasks.send_reply", reply_mail.pk)
        fields: list[str] = []
        if not internal:
            fields += sla.clock_answer(request, now=now, actor=author, calendar=calendar)
            status = status or Status.ANSWERED
        if status and status != request.status:
            _move(request, status, actor=author, now=now, calendar=calendar, extra=fields)
        elif fields:
            request.save(update_fields=fields)
    return message


def request_move(*, request_id: Any, to: str, actor: Any, now: datetime | None = None) -> SupportRequest:
    """Staff move a request's status (waiting for the customer pauses the clock, closing stops it)."""
    now = now or timezone.now()
    calendar = sla.working_calendar(around=now)
    with transaction.atomic():
        request = _locked(SupportRequest.objects.all(), request_id)
        if request.status != to:
            _move(request, to, actor=actor, now=now, calendar=calendar)
    return request


def request_assign(*, request_id: Any, assignee: Any, actor: Any) -> SupportRequest:
    with transaction.atomic():
        request = _locked(SupportRequest.objects.all(), request_id)
        before = request.assignee_id
        request.assignee = assignee
        request.save(update_fields=["assignee"])
        SupportEvent.objects.create(
            request=request,
            kind=SupportEvent.Kind.ASSIGNED,
            actor=actor,
            data={"from": before, "to": assignee.pk if assignee else None},
        )
    return request


def pending_attachments_sweep(*, older_than: datetime) -> int:
    """Delete pending attachments nobody filed (a form left after a refusal), files included."""
    count = 0
    for attachment in Attachment.objects.filter(request=None, created_at__lt=older_than)[:500]:
        attachment.file.delete(save=False)
        attachment.delete()
        count += 1
    return count
