"""Keyset pages of a list newest first: by a date (or moment) of the row, then by its id.

Most lists of the portal (requests, news, documents, releases, licences) are shown this way: the newest
row first, the id breaking ties between rows of the same date, a cursor past the end showing the first
page. One home for that choice, so that every such list pages alike (``core.paging``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .paging import KeysetPage, keyset_page


def newest_first_page(
    queryset: QuerySet[Any, Any],
    *,
    on: str,
    kind: type = datetime,
    before: str | None = None,
    after: str | None = None,
    size: int,
) -> KeysetPage:
    """``size`` rows of ``queryset``, newest ``on`` first (``kind``: ``datetime`` or ``date``), then by id,
    older than the ``before`` cursor or newer than the ``after`` one: one query from the index on
    (scope, ``on``, id), a second one only when a cursor is past the end (it shows the first page)."""
    return keyset_page(
        queryset,
        fields=[on, "id"],
        kinds=[kind, int],
        before=before,
        after=after,
        size=size,
        position_of=lambda row: [getattr(row, on), row.pk],
        first_page_when_empty=True,
    )
