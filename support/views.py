"""The help module (SUP-4..9, SVC-6, ALL-1, ALL-2): a customer's requests, a new request, a request's page
and its attachments.

Only a person acting for a customer with the *support requests* right gets here (403 otherwise); every
read and write is scoped to that organisation, and another organisation's request or attachment answers
404 like a missing one. Views only translate: they keep uploaded files as pending attachments first (so a
refused form shows them again with everything typed), call one service and render its refusal next to
its field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import Membership
from centre.views import CustomerListView, CustomerRequiredMixin
from core.errors import add_to_form

from .errors import SupportError
from .forms import NewRequestForm, ReplyForm
from .models import Attachment, SupportRequest
from .selectors import (
    attachment_get,
    clock_explanation,
    ended_licences,
    entitled_licences,
    public_conversation,
    request_get,
    request_page,
)
from .services.requests import (
    attachment_stash,
    pending_attachments,
    request_customer_reply,
    request_file,
    too_many_attachments,
)

SUPPORT = Membership.Right.SUPPORT.value


class SupportRequiredMixin(CustomerRequiredMixin):
    required_right = SUPPORT

    def stash(self, request: HttpRequest, form: Any) -> list[Attachment]:
        """Keep this submit's files and the ones kept from an earlier try (the form's ``pending`` ids) as
        pending attachments of this person; a file refused (too large) is an error on the field. No more
        than one message takes are kept (the first ones): the next try can then be sent as it is."""
        limit = int(settings.SUPPORT_ATTACHMENTS_PER_MESSAGE)
        kept = pending_attachments(
            organisation=self.organisation, user=request.user, ids=request.POST.getlist("pending")
        )
        uploads = request.FILES.getlist("attachments")
        if len(kept) + len(uploads) > limit:
            add_to_form(form, too_many_attachments())
            kept, uploads = kept[:limit], uploads[: max(limit - len(kept), 0)]
        for upload in uploads:
            try:
                kept.append(
                    attachment_stash(organisation=self.organisation, user=request.user, upload=upload)
                )
            except SupportError as error:
                add_to_form(form, error)
        return kept


class RequestListView(SupportRequiredMixin, CustomerListView):
    """My organisation's requests, newest first, keyset paged (a constant number of queries)."""

    template_name = "support/list.html"
    list_page = staticmethod(request_page)
    rows_name = "requests"


class NewRequestView(SupportRequiredMixin, View):
    template = "support/new.html"

    def context(self, form: NewRequestForm, pending: list[Attachment]) -> dict[str, Any]:
        return {
            "form": form,
            "pending": pending,
            "organisation": self.organisation,
            "has_licences": bool(form.fields["support_number"].widget.choices[1:]),
            "ended": ended_licences(organisation=self.organisation),
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        form = NewRequestForm(licences=entitled_licences(organisation=self.organisation))
        return render(request, self.template, self.context(form, []))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = NewRequestForm(request.POST, licences=entitled_licences(organisation=self.organisation))
        pending = self.stash(request, form)
        if form.is_valid() and not form.errors:
            answer = file_from_form(
                request,
                form,
                lambda: request_file(
                    organisation=self.organisation,
                    requester=request.user,
                    attachment_ids=[a.pk for a in pending],
                    **form.request_fields(),
                ),
            )
            if answer is not None:
                return answer
        return render(request, self.template, self.context(form, pending), status=200)


def file_from_form(
    request: HttpRequest, form: Any, file: Callable[[], SupportRequest]
) -> HttpResponse | None:
    """File what a valid new-request form says through ``file`` (the service call): the new request's
    page, its number said, for every asker alike; None, with the refusal next to its field, for the view
    to show the form again with what was typed (ALL-2)."""
    try:
        filed = file()
    except SupportError as error:
        add_to_form(form, error)
        return None
    messages.success(request, _("Your request has the number %(number)s.") % {"number": filed.number})
    return redirect("support:detail", filed.pk)


class RequestDetailView(SupportRequiredMixin, View):
    """One request: its facts, the clock and why it is due when it is, the public conversation (never an
    internal note) and the reply form."""

    template = "support/detail.html"

    def load(self, pk: int) -> SupportRequest:
        try:
            return request_get(organisation=self.organisation, request_id=pk)
        except SupportRequest.DoesNotExist:
            raise Http404 from None

    def render_page(
        self,
        request: HttpRequest,
        support_request: SupportRequest,
        form: ReplyForm,
        pending: list[Attachment],
    ) -> HttpResponse:
        context = {
            "req": support_request,
            "conversation": public_conversation(support_request),
            "clock": clock_explanation(support_request),
            "form": form,
            "pending": pending,
        }
        return render(request, self.template, context)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request, self.load(pk), ReplyForm(), [])

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        support_request = self.load(pk)
        form = ReplyForm(request.POST)
        pending = self.stash(request, form)
        if form.is_valid() and not form.errors:
            answer = reply_from_form(
                request,
                form,
                organisation=self.organisation,
                support_request=support_request,
                pending=pending,
            )
            if answer is not None:
                return answer
        return self.render_page(request, support_request, form, pending)


def reply_from_form(
    request: HttpRequest,
    form: Any,
    *,
    organisation: Any,
    support_request: SupportRequest,
    pending: Sequence[Attachment] = (),
) -> HttpResponse | None:
    """The asker's answer on a request's page (SUP-7), from a valid form with the ``body`` and the
    ``pending`` attachments: the request's page again, the answer said, for every asker alike; None, with
    the refusal next to its field, for the view to show the form again with what was typed (ALL-2)."""
    try:
        request_customer_reply(
            organisation=organisation,
            request_id=support_request.pk,
            author=request.user,
            body=form.cleaned_data["body"],
            attachment_ids=[a.pk for a in pending],
        )
    except SupportError as error:
        add_to_form(form, error)
        return None
    messages.success(request, _("Your answer was added."))
    return redirect("support:detail", support_request.pk)


class AttachmentView(SupportRequiredMixin, View):
    """An attachment of one of the organisation's requests, as a download (never shown inline)."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        try:
            attachment = attachment_get(organisation=self.organisation, attachment_id=pk)
        except Attachment.DoesNotExist:
            raise Http404 from None
        return attachment_download(attachment)


def attachment_download(attachment: Attachment) -> FileResponse:
    """An attachment as a download, for the customer's pages and the desk's alike: always saved, never
    shown inline (a typed content type could run in the portal's origin), never kept by a cache."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type="application/octet-stream",
    )
    add_never_cache_headers(response)
    return response
