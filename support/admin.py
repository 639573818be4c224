"""A minimal desk for staff (first increment; the triage queue of SUP-12 comes later): requests with their
conversation and clock, a public reply (shown and mailed to the customer, stops the clock) or an internal
note (never shown to the customer), status moves, the closed days the clock skips and entitlement bindings
staff move (SUP-5). Every change goes through ``support.services`` (recorded, ALL-3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts.client_ip import client_ip
from core.admin import ReadOnlyAdmin
from core.errors import add_to_form
from core.ids import id_or_none

from . import triage
from .admin_filters import TeamFilter
from .errors import SupportError
from .models import BindingEvent, ClosedDay, EntitlementBinding, Kind, RequestCredential, SupportRequest
from .phone import PhoneCallForm
from .selectors import visible_kinds
from .services.credentials import credential_reveal
from .services.entitlement import entitlement_rebind
from .services.phone import phone_request_file
from .services.requests import request_assign, request_move, request_staff_reply
from .services.triage import triage_assign, triage_close
from .views import attachment_download


class SupportRequestAdminForm(forms.ModelForm):
    # Declared, so the admin leaves out its add/change/view links around the list (and their permission
    # checks); requests go to staff, not to every account (``triage.desk_staff``).
    assignee = forms.ModelChoiceField(
        label=capfirst(_("assignee")), queryset=triage.desk_staff(), required=False
    )
    reply = forms.CharField(
        label=_("Write"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("A public reply is shown to the customer and stops the first-answer clock."),
    )
    internal = forms.BooleanField(label=_("Internal note (never shown to the customer)"), required=False)
    new_status = forms.ChoiceField(
        label=_("Move to"),
        required=False,
        choices=[("", "—"), *SupportRequest.Status.choices],
        help_text=_("Waiting for the customer pauses the clock; closing stops it."),
    )

    class Meta:
        model = SupportRequest
        fields = ["assignee"]


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    form = SupportRequestAdminForm
    list_display = [
        "number",
        "organisation",
        "subject",
        "kind",
        "channel",
        "status",
        "priority",
        "covered",
        "time_left",
        "assignee",
    ]
    # The triage queue (SUP-12): each filter has its index (see the model's Meta).
    list_filter = [
        "status",
        "priority",
        "channel",
        "category",
        triage.ProductFilter,
        triage.AssigneeFilter,
        triage.SlaFilter,
        TeamFilter,
    ]
    search_fields = ["number", "subject", "organisation__name"]
    list_select_related = ["organisation", "assignee"]
    # Paged without counting every row: a capped count, and no full-table count beside it.
    paginator = triage.CappedPaginator
    list_per_page = 25
    show_full_result_count = False
    # No counts beside the filters' choices: each would count every request, as the paginator does not.
    show_facets = admin.ShowFacets.NEVER
    ordering = ["-priority", "due_at", "-id"]
    actions = ["assign_to", "take", "close"]
    change_list_template = "admin/support/supportrequest/change_list.html"
    change_form_template = "admin/support/supportrequest/change_form.html"
    # The request's facts in one block (``summary``), not a read-only admin field each.
    readonly_fields = ["summary", "conversation", "history"]
    fields = [*readonly_fields, "assignee", "reply", "internal", "new_status"]

    @admin.display(description=_("Request"))
    def summary(self, obj: SupportRequest) -> str:
        return render_to_string("admin/support/supportrequest/_summary.html", {"rows": triage.summary(obj)})

    @admin.display(description=_("Conversation"))
    def conversation(self, obj: SupportRequest) -> str:
        """Every message with its files (downloads through the staff access check); internal notes stand
        apart (never shown or mailed to the customer), public replies are what the customer reads."""
        return render_to_string(
            "admin/support/supportrequest/_conversation.html", {"messages": triage.conversation(obj)}
        )

    @admin.display(description=_("History and clock"))
    def history(self, obj: SupportRequest) -> str:
        """Every recorded event (who, when, what) and the clock explained in words (SUP-8)."""
        return render_to_string("admin/support/supportrequest/_history.html", triage.history(obj))

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "credential/<int:pk>/reveal/",
                self.admin_site.admin_view(self.credential_reveal_view),
                name="support_supportrequest_credential_reveal",
            ),
            path(
                "phone/",
                self.admin_site.admin_view(self.phone_view),
                name="support_supportrequest_phone",
            ),
            path(
                "attachment/<int:pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_supportrequest_attachment",
            ),
        ]
        return extra + super().get_urls()

    def attachment_view(self, request: HttpRequest, pk: int) -> FileResponse:
        """A file of a request the staff member may see (its kind), as a download; 404 otherwise."""
        attachment = triage.staff_attachment(user=request.user, attachment_id=pk)
        if attachment is None:
            raise Http404
        return attachment_download(attachment)

    def phone_view(self, request: HttpRequest) -> HttpResponse:
        """Record a phone call (SUP-6) as a request on the customer's behalf; refusals by field, what was
        typed kept."""
        if not self._desk(request) or Kind.SUPPORT not in visible_kinds(request.user):
            raise PermissionDenied
        form = PhoneCallForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                filed = phone_request_file(staff=request.user, **form.cleaned_data)
            except SupportError as error:
                add_to_form(form, error)
            else:
                self.message_user(
                    request,
                    _("The call was recorded as %(number)s.") % {"number": filed.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:support_supportrequest_change", args=[filed.pk]))
        return TemplateResponse(
            request,
            "admin/support/supportrequest/phone.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Record a phone call"),
                "opts": self.model._meta,
                "form": form,
            },
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The request's credentials (SUP-10): kind, host and state only; the assignee reveals one by POST."""
        context = dict(extra_context or {})
        request_id = id_or_none(object_id)
        if request_id is not None:
            rows = RequestCredential.objects.filter(request_id=request_id).select_related(
                "request", "created_by"
            )
            context["credentials"] = [
                (c, c.request.assignee_id == request.user.pk and c.destroyed_at is None) for c in rows
            ]
        return super().change_view(request, object_id, form_url, extra_context=context)

    @method_decorator(never_cache)
    @method_decorator(sensitive_post_parameters())
    @method_decorator(sensitive_variables("plaintext"))
    def credential_reveal_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST only: the secret to the staff member assigned, recorded; never cached (no-store)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        credential = RequestCredential.objects.filter(pk=pk).select_related("request").first()
        if credential is None or credential.request.kind not in visible_kinds(request.user):
            raise Http404
        try:
            credential, plaintext = credential_reveal(
                credential_id=pk,
                user=request.user,
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except SupportError as error:
            if error.code == "not_allowed":
                raise PermissionDenied from None
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:support_supportrequest_change", args=[credential.request_id])
            )
        response = TemplateResponse(
            request,
            "admin/support/supportrequest/credential_reveal.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Credentials"),
                "opts": self.model._meta,
                "credential": credential,
                "secret": plaintext,
            },
        )
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response

    # --- the triage queue (SUP-12): who sees what, the time left, bulk actions ---------------------------
    def get_queryset(self, request: HttpRequest) -> Any:
        """Only the kinds of request the user's group works on (``visible_kinds``; VL-10)."""
        # The request page shows the organisation, requester, licence and assignee: read with the request.
        rows = (
            super().get_queryset(request).select_related("organisation", "requester", "licence", "assignee")
        )
        if request.user.is_superuser:
            return rows
        return rows.filter(kind__in=sorted(visible_kinds(request.user)))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[triage.QueueChangeList]:
        return triage.QueueChangeList

    def _desk(self, request: HttpRequest) -> bool:
        return bool(visible_kinds(request.user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._desk(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self._desk(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) or self._desk(request)

    @admin.display(description=_("Time left"), ordering="due_at")
    def time_left(self, obj: SupportRequest) -> str:
        return triage.time_left(obj)

    @admin.action(description=_("Assign to…"))
    def assign_to(self, request: HttpRequest, queryset: Any) -> Any:
        """An intermediate page chooses the staff member; its form posts back to this action."""
        form = triage.AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._assign(
                request,
                queryset,
                form.cleaned_data["assignee"],
                lambda done: ngettext("%(n)d request assigned.", "%(n)d requests assigned.", done),
            )
            return None
        return TemplateResponse(
            request,
            "admin/support/supportrequest/assign.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Assign support requests"),
                "opts": self.model._meta,
                "form": form,
                "requests": queryset.select_related(None).only("pk", "number", "subject")[:500],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Take (assign to me)"))
    def take(self, request: HttpRequest, queryset: Any) -> None:
        self._assign(
            request,
            queryset,
            request.user,
            lambda done: ngettext("%(n)d request assigned to you.", "%(n)d requests assigned to you.", done),
        )

    def _assign(self, request: HttpRequest, queryset: Any, assignee: Any, said: Callable[[int], str]) -> None:
        """Assign the chosen requests (of the kinds the staff member sees) to ``assignee`` and say how many
        moved, in the words ``said`` gives for that number: what the two assigning actions share."""
        done = triage_assign(
            request_ids=queryset.values_list("pk", flat=True),
            assignee=assignee,
            actor=request.user,
            kinds=visible_kinds(request.user),
        )
        self.message_user(request, said(done) % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Close"))
    def close(self, request: HttpRequest, queryset: Any) -> None:
        closed, refused = triage_close(
            request_ids=queryset.values_list("pk", flat=True),
            actor=request.user,
            kinds=visible_kinds(request.user),
        )
        self.message_user(
            request,
            ngettext("%(n)d request closed.", "%(n)d requests closed.", closed) % {"n": closed},
            messages.SUCCESS,
        )
        if refused:
            self.message_user(
                request,
                ngettext("%(n)d request could not be closed.", "%(n)d requests could not be closed.", refused)
                % {"n": refused},
                messages.ERROR,
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come through the channels; staff record a call with "Record a phone call"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SupportRequest, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if "assignee" in form.changed_data:
                request_assign(request_id=obj.pk, assignee=data.get("assignee"), actor=request.user)
            if (data.get("reply") or "").strip():
                request_staff_reply(
                    request_id=obj.pk,
                    author=request.user,
                    body=data["reply"],
                    internal=bool(data.get("internal")),
                    status=data.get("new_status") or "",
                )
            elif data.get("new_status"):
                request_move(request_id=obj.pk, to=data["new_status"], actor=request.user)
        except SupportError as error:
            messages.error(request, error.message)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # nothing related is edited here


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    """Days the support desk is closed besides weekends and public holidays: the clock skips them."""

    list_display = ["day", "reason"]
    date_hierarchy = "day"


class EntitlementBindingForm(forms.ModelForm):
    new_host = forms.CharField(
        label=_("Move to host"), required=False, max_length=500, help_text=_("The customer moved its shop.")
    )

    class Meta:
        model = EntitlementBinding
        fields: list[str] = []


@admin.register(EntitlementBinding)
class EntitlementBindingAdmin(admin.ModelAdmin):
    """SUP-5: which host each entitlement covers; staff move it, recorded."""

    form = EntitlementBindingForm
    list_display = ["licence", "host", "bound_at", "bound_by"]
    search_fields = ["licence__support_number", "host"]
    list_select_related = ["licence", "bound_by"]
    readonly_fields = ["licence", "host", "bound_at", "bound_by", "history"]
    fields = [*readonly_fields, "new_host"]

    @admin.display(description=_("History"))
    def history(self, obj: EntitlementBinding) -> str:
        rows = obj.events.select_related("actor").order_by("at", "id")
        return (
            format_html_join(
                "",
                "<div>{} · {} · {} → {}</div>",
                (
                    (
                        timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                        e.get_kind_display(),
                        e.data.get("from", ""),
                        e.data.get("to", e.data.get("host", "")),
                    )
                    for e in rows
                ),
            )
            or "—"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: EntitlementBinding, form: Any, change: bool) -> None:
        new_host = (form.cleaned_data.get("new_host") or "").strip()
        if new_host:
            try:
                entitlement_rebind(licence_id=obj.licence_id, host=new_host, actor=request.user)
            except SupportError as error:
                messages.error(request, error.message)
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None


@admin.register(BindingEvent)
class BindingEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "binding", "kind", "actor"]
    list_select_related = ["binding", "actor"]


# The admin of held web-form requests (SUP-7), in its own module.
from . import admin_held  # noqa: E402, F401
