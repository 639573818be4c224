"""Staff see keys masked and never decrypted (ESD-8); nobody edits sealed material by hand.

Keys come in through a bulk import handed to a worker (LOCK-5), whose progress the import page shows.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin, ReadOnlyInline, UploadJobAdmin
from core.csv_export import csv_response

from . import vault
from .forms import KeyImportForm
from .models import KeyEvent, KeyImport, ProductKey, RevealEvent
from .services import key_import_create


class RevealEventInline(ReadOnlyInline):
    model = RevealEvent
    fields = readonly_fields = ("at", "user", "ip", "user_agent")


class KeyEventInline(ReadOnlyInline):
    model = KeyEvent
    fields = readonly_fields = ("at", "kind", "actor", "data")


@admin.register(ProductKey)
class ProductKeyAdmin(ReadOnlyAdmin):
    # What fits a 1280-pixel screen beside the filters; the import time is on each key's page.
    list_display = ["short_key", "product_sku", "status", "owner", "allocated_at", "revealed_at"]
    list_filter = ["status", "product", "master_key_id"]
    search_fields = ["=last5", "=owner__email", "=product__sku"]
    list_select_related = ["product", "owner"]
    fields = readonly_fields = (
        "masked_key",
        "product",
        "status",
        "owner",
        "master_key_id",
        "imported_at",
        "imported_by",
        "allocated_at",
        "revealed_at",
        "purged_at",
        "order_link",
    )
    inlines = [RevealEventInline, KeyEventInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("ciphertext", "wrapped_key")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "sealed_by_master_key": vault.by_master_key()}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("key"))
    def masked_key(self, obj: ProductKey) -> str:
        return obj.masked

    @admin.display(description=_("key"), ordering="last5")
    def short_key(self, obj: ProductKey) -> str:
        """The list's column: the last five characters (ESD-8), without the mask's width."""
        return f"…{obj.last5}"

    @admin.display(description=_("product"), ordering="product__sku")
    def product_sku(self, obj: ProductKey) -> str:
        return obj.product.sku

    @admin.display(description=_("order"))
    def order_link(self, obj: ProductKey) -> str:
        allocation = getattr(obj, "allocation", None)
        if allocation is None:
            return "—"
        order_id = allocation.line.order_id
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:orders_order_change", args=[order_id]), order_id
        )


@admin.register(RevealEvent)
class RevealEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "key", "user", "ip"]
    list_select_related = ["key", "user"]
    search_fields = ["=user__email", "=key__last5"]
    date_hierarchy = "at"


def _line_numbers(numbers: Any, shown: int = 50) -> str:
    """Line numbers as people read them ("3, 7, 12 and 40 more"), not as a Python list; the whole list is in
    the import's CSV report."""
    numbers = list(numbers or [])
    if not numbers:
        return "—"
    text = ", ".join(str(n) for n in numbers[:shown])
    rest = len(numbers) - shown
    if rest <= 0:
        return text
    return ngettext("%(lines)s and %(rest)d more", "%(lines)s and %(rest)d more", rest) % {
        "lines": text,
        "rest": rest,
    }


@admin.register(KeyImport)
class KeyImportAdmin(UploadJobAdmin):
    upload_form = KeyImportForm
    upload_title = _("Import product keys")
    upload_help = _(
        "Keys already in the locker, or repeated in the file, are rejected by keyed hash without decrypting "
        "anything; malformed lines are reported with their numbers. The file itself is kept sealed and "
        "destroyed when the import ends."
    )
    upload_prefill = ("product",)
    running_statuses = (KeyImport.Status.PENDING, KeyImport.Status.RUNNING)
    list_display = [
        "created_at",
        "product",
        "filename",
        "status",
        "progress",
        "imported",
        "duplicates",
        "malformed",
        "uploaded_by",
    ]
    list_filter = ["status", "product"]
    list_select_related = ["product", "uploaded_by"]
    fields = readonly_fields = (
        "product",
        "filename",
        "uploaded_by",
        "created_at",
        "finished_at",
        "status",
        "progress",
        "imported",
        "duplicates",
        "malformed",
        "duplicate_line_numbers",
        "malformed_line_numbers",
        "error",
        "report",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("payload", "payload_key")

    @admin.display(description=_("progress"))
    def progress(self, obj: KeyImport) -> str:
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {} ({}%)',
            obj.processed_lines,
            obj.total_lines or 1,
            obj.processed_lines,
            obj.total_lines,
            obj.percent,
        )

    @admin.display(description=_("duplicate lines"))
    def duplicate_line_numbers(self, obj: KeyImport) -> str:
        return _line_numbers(obj.duplicate_lines)

    @admin.display(description=_("malformed lines"))
    def malformed_line_numbers(self, obj: KeyImport) -> str:
        return _line_numbers(obj.malformed_lines)

    @admin.display(description=_("report"))
    def report(self, obj: KeyImport) -> str:
        if obj.status not in (KeyImport.Status.DONE, KeyImport.Status.FAILED):
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:locker_keyimport_report", args=[obj.pk]),
            _("Download (CSV)"),
        )

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "<uuid:object_id>/report.csv",
            self.admin_site.admin_view(self.report_view),
            name="locker_keyimport_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest, object_id: Any) -> HttpResponseBase:
        """The import's report as a spreadsheet: one row per rejected line, by number (never its content:
        a rejected line may still be a key)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = (
            KeyImport.objects.defer("payload", "payload_key")
            .select_related("product", "uploaded_by")
            .filter(pk=object_id)
            .first()
        )
        if job is None:
            raise Http404
        header = [_("file"), _("product"), _("uploaded by"), _("uploaded at"), _("line"), _("problem")]
        about = [
            job.filename,
            job.product.name,
            job.uploaded_by.email if job.uploaded_by else "",
            job.created_at,
        ]
        rows = [
            *([*about, n, _("duplicate key")] for n in job.duplicate_lines),
            *([*about, n, _("not a key")] for n in job.malformed_lines),
        ]
        rows.sort(key=lambda row: row[4])
        unlisted = (job.duplicates - len(job.duplicate_lines)) + (job.malformed - len(job.malformed_lines))
        if unlisted > 0:
            rows.append(
                [
                    *about,
                    "",
                    ngettext(
                        "%(n)d more line rejected (not listed)",
                        "%(n)d more lines rejected (not listed)",
                        unlisted,
                    )
                    % {"n": unlisted},
                ]
            )
        if job.error:
            rows.append([*about, "", job.error])
        if not rows:
            rows.append([*about, "", _("every line was imported")])
        name = slugify(f"key-import-{job.product.sku}-{job.created_at:%Y%m%d-%H%M}") + ".csv"
        return csv_response(name, header, rows)

    def upload_job_create(self, request: HttpRequest, form: forms.Form) -> KeyImport:
        return key_import_create(
            product=form.cleaned_data["product"],
            uploaded_by=request.user,
            filename=form.cleaned_data["file"].name,
            content=form.cleaned_data.pop("content"),
        )
