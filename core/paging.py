"""Keyset pages: lists paged by position ("Newer" / "Older"), not by page number.

A page is found by the position of a row in the list's order, so it reads ``size + 1`` rows from an index
wherever it is in the list and never counts or sorts all of them: its cost does not grow with the list.
The order is the ``fields`` given, all descending (newest first); the queryset's index should have them in
that order after its scope (the organisation, the owner). A cursor is the position of a row written for a
URL: each value joined by dots (a moment as microseconds since 1970, a day as its proleptic Gregorian
ordinal, a number, a UUID as 32 hex digits),
exact and opaque to the user. A cursor that does not read (a typo, a forged value) shows the first page,
never an error (ALL-2).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Field, Func, QuerySet, Value

from .dates import epoch_micros, from_epoch_micros

_BIGINT = 2**63


@dataclass(frozen=True)
class KeysetPage:
    """One page: ``rows`` in list order, ``newer`` and ``older`` cursors of the neighbouring pages (None at
    either end), and ``here``, the query that shows this page again ("before=…", "after=…" or "")."""

    rows: list[Any]
    newer: str | None
    older: str | None
    here: str

    def links(self, query: Mapping[str, Any] | str = "") -> dict[str, str]:
        """``newer_url`` and ``older_url`` (``pager_links``), keeping the list's ``query``."""
        return pager_links(self.newer, self.older, query)


def pager_links(newer: str | None, older: str | None, query: Mapping[str, Any] | str = "") -> dict[str, str]:
    """``newer_url`` and ``older_url``, what the ``components/_pager.html`` partial takes (either empty at
    its end of the list), keeping what the list was asked for (``query``: its parameters, or already
    encoded) in front of the cursor."""
    keep = urlencode(query) if isinstance(query, Mapping) else query
    start = f"?{keep}&" if keep else "?"
    return {
        "newer_url": f"{start}after={newer}" if newer else "",
        "older_url": f"{start}before={older}" if older else "",
    }


class _Row(Func):
    """A row of values, ``(a, b, c)``: compared with another row, one condition an index scan can start
    from (PostgreSQL, SQLite 3.15 and later)."""

    template = "(%(expressions)s)"
    output_field = Field()


def format_cursor(position: Sequence[Any]) -> str:
    """A position (a row's values of the list's fields) as a cursor."""
    parts = []
    for value in position:
        if isinstance(value, datetime):
            parts.append(str(epoch_micros(value)))
        elif isinstance(value, date):
            parts.append(str(value.toordinal()))
        elif isinstance(value, uuid.UUID):
            parts.append(value.hex)
        else:
            parts.append(str(int(value)))
    return ".".join(parts)


def parse_cursor(cursor: str | None, kinds: Sequence[type]) -> tuple[Any, ...] | None:
    """The position a cursor of ``format_cursor`` holds, its values of ``kinds`` (datetime, date, int,
    UUID), or None for anything else."""
    parts = (cursor or "").split(".")
    if len(parts) != len(kinds):
        return None
    position: list[Any] = []
    try:
        for part, kind in zip(parts, kinds, strict=True):
            if kind is datetime:
                position.append(from_epoch_micros(int(part)))
            elif kind is date:
                position.append(date.fromordinal(int(part)))
            elif kind is uuid.UUID:
                position.append(uuid.UUID(hex=part))
            else:
                number = int(part)
                if not -_BIGINT <= number < _BIGINT:  # what the database's bigint holds
                    return None
                position.append(number)
    except (ValueError, OverflowError):
        return None
    return tuple(position)


def keyset_queryset(
    queryset: QuerySet[Any, Any],
    *,
    fields: Sequence[str],
    older_than: Sequence[Any] | None = None,
    newer_than: Sequence[Any] | None = None,
) -> QuerySet[Any, Any]:
    """``queryset`` in the order of ``fields`` (each descending) from a position on: older than
    ``older_than``, or newer than ``newer_than`` in ascending order (the nearest first)."""
    order = [f"-{name}" for name in fields]
    position = older_than if older_than is not None else newer_than
    if position is None:
        return queryset.order_by(*order)
    model_fields = [queryset.model._meta.get_field(name) for name in fields]
    bound = _Row(
        *(Value(value, output_field=field) for value, field in zip(position, model_fields, strict=True))
    )
    rows = queryset.alias(_position=_Row(*(F(name) for name in fields)))
    if older_than is not None:
        return rows.filter(_position__lt=bound).order_by(*order)
    return rows.filter(_position__gt=bound).order_by(*fields)


def keyset_page(
    queryset: QuerySet[Any, Any],
    *,
    fields: Sequence[str],
    kinds: Sequence[type],
    before: str | None = None,
    after: str | None = None,
    size: int,
    position_of: Callable[[Any], Sequence[Any]] | None = None,
    first_page_when_empty: bool = False,
) -> KeysetPage:
    """``size`` rows of ``queryset`` in the order of ``fields`` (each descending), older than the
    ``before`` cursor or newer than the ``after`` one; neither, or one that does not read: the first page.

    One query. ``position_of(row)`` gives a row's values of ``fields`` (by default the row read as a dict,
    for ``values()`` querysets). With ``first_page_when_empty``, a cursor past the end (rows gone since)
    shows the first page instead of an empty one (a second query).
    """
    position_of = position_of or (lambda row: [row[name] for name in fields])
    older_than, newer_than = parse_cursor(before, kinds), parse_cursor(after, kinds)
    if older_than is not None:
        newer_than = None
    position = older_than or newer_than
    rows = keyset_queryset(queryset, fields=fields, older_than=older_than, newer_than=newer_than)
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    if newer_than is not None:
        found.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = older_than is not None, more
    if not found and position is not None and first_page_when_empty:
        return keyset_page(queryset, fields=fields, kinds=kinds, size=size, position_of=position_of)
    if older_than is not None:
        here = f"before={format_cursor(older_than)}"
    elif newer_than is not None:
        here = f"after={format_cursor(newer_than)}"
    else:
        here = ""
    return KeysetPage(
        rows=found,
        newer=format_cursor(position_of(found[0])) if has_newer and found else None,
        older=format_cursor(position_of(found[-1])) if has_older and found else None,
        here=here,
    )
