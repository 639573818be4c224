"""The licence list and its exports (CC-1, CC-9, ALL-1, LOCK-4).

Only a person acting for a customer with the *licences and installation numbers* right gets here (403
otherwise). The list and the exports are the owner's reveal of the installation numbers: each page and each
export opens its numbers through the vault and records, in the same request and before anything is sent,
who saw which licences' numbers, when and from where (``licences_shown``). Nothing here is cached.
"""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import urlencode

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_variables

from accounts.client_ip import client_ip
from accounts.models import Membership
from core.csv_export import csv_response, spreadsheet_safe
from core.paging import pager_links
from core.search import search_text

from .models import Licence, LicenceRevealEvent
from .selectors import LicenceRow, licence_list, licence_page, licence_rows
from .services.licences import licences_shown
from .views import CustomerRequiredMixin

LICENCES = Membership.Right.LICENCES.value
SEARCH_MAX = 100


class LicencesRequiredMixin(CustomerRequiredMixin):
    required_right = LICENCES

    def search(self, request: HttpRequest) -> str:
        return search_text(request.GET.get("q"), limit=SEARCH_MAX)

    def record(self, request: HttpRequest, rows: list[LicenceRow], how: str) -> None:
        licences_shown(
            organisation=self.organisation,
            user=request.user,
            licence_ids=[row.licence.pk for row in rows],
            how=how,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )


class LicencesView(LicencesRequiredMixin, View):
    """Every licence of the organisation with its installation number, newest purchase first (CC-1)."""

    @method_decorator(sensitive_variables())  # the opened numbers: never in an error report
    def get(self, request: HttpRequest) -> HttpResponse:
        search = self.search(request)
        page = licence_page(
            organisation=self.organisation,
            search=search,
            before=request.GET.get("before"),
            after=request.GET.get("after"),
        )
        rows = licence_rows(page.rows)
        self.record(request, rows, LicenceRevealEvent.Kind.PAGE)
        query = {"q": search} if search else {}
        context = {
            "organisation": self.organisation,
            "rows": rows,
            "search": search,
            "export_query": urlencode(query),
            **pager_links(page.newer, page.older, query),
        }
        response = render(request, "centre/licences.html", context)
        add_never_cache_headers(response)
        return response


def _header() -> list[str]:
    return [
        _("Product"),
        _("SKU"),
        _("Edition"),
        _("Installation number"),
        _("Support number"),
        _("Source"),
        _("Purchase date"),
        _("Support"),
        _("Support ends on"),
    ]


def _cells(row: LicenceRow) -> list[Any]:
    licence: Licence = row.licence
    return [
        licence.product.name,
        licence.product.sku,
        licence.edition,
        row.installation_number,
        licence.support_number,
        licence.get_source_display(),
        licence.purchase_date,
        _("Active") if row.support_active else _("Ended"),
        licence.support_ends_on,
    ]


def _filename(request_org: Any, extension: str) -> str:
    return f"licences-{request_org.customer_id or request_org.pk}-{timezone.localdate():%Y-%m-%d}.{extension}"


class LicencesExportView(LicencesRequiredMixin, View):
    """Every licence of the organisation under the list's search, with the list's columns, as CSV
    (``core.csv_export``: formula-safe, streamed) or XLSX (openpyxl write-only, text cells formula-safe)."""

    fmt = "csv"

    @method_decorator(sensitive_variables())  # the opened numbers: never in an error report
    def get(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse | FileResponse:
        rows = licence_rows(licence_list(organisation=self.organisation, search=self.search(request)))
        self.record(request, rows, self.fmt)
        response: HttpResponse | StreamingHttpResponse | FileResponse
        if self.fmt == LicenceRevealEvent.Kind.XLSX:
            response = _xlsx_response(
                _filename(self.organisation, "xlsx"), _header(), [_cells(r) for r in rows]
            )
        else:
            response = csv_response(_filename(self.organisation, "csv"), _header(), (_cells(r) for r in rows))
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store"
        return response


def _xlsx_response(filename: str, header: list[str], rows: list[list[Any]]) -> FileResponse:
    """A workbook of one sheet, written row by row (write-only mode) into a temporary file and sent from
    it. Every text cell is ``spreadsheet_safe`` and stored as text, so no value runs as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Licences")[:31])

    def cell(value: Any) -> Any:
        safe = spreadsheet_safe(value)
        out = WriteOnlyCell(sheet, value=safe)
        if isinstance(safe, str):
            out.data_type = "s"  # never "f", whatever the text begins with
        else:
            out.number_format = "yyyy-mm-dd"
        return out

    sheet.append([cell(value) for value in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it once sent)
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
