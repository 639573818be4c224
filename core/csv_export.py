"""CSV downloads that a spreadsheet opens as data, never as formulas (issue #11 item 7).

Excel, LibreOffice and Google Sheets run a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
versions, a tab, a line break or a NUL) as a formula, and values in our exports come from people: an e-mail
address may legally begin with ``=``, a file name or a reference with anything. Every text cell that begins
with one of those characters gets a leading apostrophe, which the spreadsheet shows as text and hides;
numbers and dates are written as they are. Files are UTF-8 with a byte-order mark, so Excel reads the five
languages' letters right, and stream row by row, so a long export holds no list in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def spreadsheet_safe(value: Any) -> Any:
    """The cell as written: text that a spreadsheet would run is escaped; other values stay themselves."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds") if timezone.is_aware(value) else value
    if isinstance(value, date | int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    # Some importers trim leading spaces before they look: " =1+1" counts as a formula too.
    risky = text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS)
    return "'" + text if risky else text


class _Line:
    """A file-like object that hands back what the csv writer writes (one row at a time)."""

    def write(self, value: str) -> str:
        return value


def csv_rows(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    # Every cell quoted: a spreadsheet set to split on ";" (Polish, German, French, Czech Excel) must not
    # start a new cell, and so perhaps a formula, inside a value.
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


def csv_response(
    filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
