"""The admin of imports and product registration (issue #14, CC-9, CC-10): uploads run by a worker with
their progress, issued numbers and registration conflicts, read-only. No page here shows an installation
number. Registered from ``centre.admin``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin, UploadJobAdmin

from .import_forms import ImportUploadForm
from .models import ImportJob, IssuedNumber, RegistrationConflict
from .services.imports import import_job_create


@admin.register(ImportJob)
class ImportJobAdmin(UploadJobAdmin):
    """Uploads of customers and licences files, imported by a worker (``centre.tasks.run_import_job``)
    through the service the commands use. The file is sealed until the run ends and never shown; the page
    of a running import refreshes itself and shows its progress, a finished one its errors by line."""

    upload_form = ImportUploadForm
    upload_title = _("Import customers or licences")
    upload_help = _(
        "Every line is checked first; if any line is wrong, nothing is imported and the errors are listed "
        "by line number. The file is kept sealed and destroyed when the import ends."
    )
    upload_prefill = ("kind",)
    running_statuses = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    list_display = ["created_at", "kind", "filename", "status", "progress", "error_count", "created_by"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    fields = readonly_fields = (
        "kind",
        "filename",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "status",
        "progress",
        "outcome",
        "error_count",
        "error_lines",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("payload_ciphertext", "payload_wrapped_key")

    @admin.display(description=_("progress"))
    def progress(self, obj: ImportJob) -> str:
        return format_html(
            '<progress value="{}" max="100" aria-label="{}">{}%</progress> {}%',
            obj.percent,
            _("progress"),
            obj.percent,
            obj.percent,
        )

    @admin.display(description=_("outcome"))
    def outcome(self, obj: ImportJob) -> str:
        s = obj.summary or {}
        if not s:
            return "—"
        return _(
            "Lines: %(lines)d · created: %(created)d · updated: %(updated)d · numbers issued: %(issued)d · "
            "unchanged: %(unchanged)d"
        ) % {key: int(s.get(key, 0)) for key in ("lines", "created", "updated", "issued", "unchanged")}

    @admin.display(description=_("errors by line"))
    def error_lines(self, obj: ImportJob) -> str:
        if not obj.errors:
            return "—"
        items = format_html_join(
            "",
            "<li>{}</li>",
            (
                (
                    _("line %(line)d: %(problem)s") % {"line": e["line"], "problem": e["message"]}
                    if e.get("line")
                    else e["message"],
                )
                for e in obj.errors
            ),
        )
        more = obj.error_count - len(obj.errors)
        tail = (
            format_html("<p>{}</p>", ngettext("… and %(n)d more", "… and %(n)d more", more) % {"n": more})
            if more > 0
            else ""
        )
        return format_html("<ul>{}</ul>{}", items, tail)

    def upload_job_create(self, request: HttpRequest, form: forms.Form) -> ImportJob:
        return import_job_create(
            kind=form.cleaned_data["kind"],
            filename=form.cleaned_data["file"].name,
            content=form.cleaned_data.pop("content"),
            created_by=request.user,
        )


@admin.register(IssuedNumber)
class IssuedNumberAdmin(ReadOnlyAdmin):
    """Numbers issued with partners' sales (CC-10), imported by ``import_licences``; the number itself is
    sealed and never shown here."""

    list_display = ["created_at", "product", "sale_date", "customer", "support_number", "licence"]
    list_filter = [("licence", admin.EmptyFieldListFilter), "sale_date"]
    search_fields = ["support_number", "product__sku", "customer__customer_id", "customer__name"]
    list_select_related = ["product", "customer", "licence"]
    fields = readonly_fields = (
        "product",
        "installation_number_shown",
        "sale_date",
        "customer",
        "support_number",
        "licence",
        "created_at",
        "created_by",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("number_ciphertext", "number_wrapped_key")

    @admin.display(description=_("Installation number"))
    def installation_number_shown(self, obj: IssuedNumber) -> str:
        return "••••"


@admin.register(RegistrationConflict)
class RegistrationConflictAdmin(ReadOnlyAdmin):
    """Registrations refused because the number belongs to another customer (CC-10): the person trying
    was told nothing more than for a number never issued; staff see it here."""

    list_display = ["at", "organisation", "actor", "what", "issued_number", "licence"]
    list_filter = ["kind"]
    search_fields = ["organisation__name", "organisation__customer_id", "actor__email"]
    list_select_related = ["organisation", "actor", "issued_number", "licence"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "actor", "what", "issued_number", "licence")

    @admin.display(description=_("what happened"), ordering="kind")
    def what(self, obj: RegistrationConflict) -> str:
        kinds = dict(RegistrationConflict.Kind.choices)
        return str(kinds.get(obj.kind, obj.kind))
