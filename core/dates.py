"""Dates on pages that show many of them (the order list, the locker): the |date filter's output, cheaper.

``{{ value|date:"DATE_FORMAT" }}`` parses the format string again for every value; on a page of 50 keys
that is most of the time the page takes. A ``DateFormatter`` is made once per page: it looks the named
format up once (in the active language), splits it once, and formats each distinct value once, since a
format such as DATE_FORMAT gives the same text for every moment of one day.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.dateformat import DateFormat
from django.utils.formats import get_format

# The format characters of django.utils.dateformat, and the ones whose text changes within a day, an hour
# or a minute: a format without the finer ones gives one text per day (or minute) and is remembered so.
_SPECIFIER = re.compile(r"(?<!\\)([aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ])")
_ESCAPED = re.compile(r"\\(.)")
_TIME_OF_DAY = set("aAfgGhHiPsuUcreIOTZ")
_SECONDS = set("sucrU")


@lru_cache(maxsize=64)
def _parse(format_string: str) -> tuple[list[tuple[bool, str]], bool, bool]:
    """The format's pieces, each (is a format character, the character or literal text with backslash
    escapes resolved), and whether its text changes only from day to day, or only from minute to minute."""
    pieces = [
        (True, piece) if i % 2 else (False, _ESCAPED.sub(r"\1", piece))
        for i, piece in enumerate(_SPECIFIER.split(format_string))
        if piece
    ]
    specifiers = {piece for is_specifier, piece in pieces if is_specifier}
    return pieces, not (specifiers & _TIME_OF_DAY), not (specifiers & _SECONDS)


class DateFormatter:
    """``formatter(value)`` is ``value|date:format_name`` in the active language and time zone ("" for None)

    Made once per page: the formats it remembers belong to the language active when it was made.
    """

    def __init__(self, format_name: str) -> None:
        self._pieces, self._per_day, self._per_minute = _parse(str(get_format(format_name)))
        self._zone = timezone.get_current_timezone()
        self._done: dict[Any, str] = {}

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        text = self._done.get(value)  # keys delivered together share their moment exactly
        if text is None:
            local = value.astimezone(self._zone) if value.tzinfo is not None else value
            if self._per_day:
                key: Any = local.date()
            elif self._per_minute:
                key = local.replace(second=0, microsecond=0)
            else:
                key = local
            text = self._done.get(key)
            if text is None:
                formatter = DateFormat(local)
                text = "".join(
                    str(getattr(formatter, piece)()) if is_specifier else piece
                    for is_specifier, piece in self._pieces
                )
                self._done[key] = text
            self._done[value] = text
        return text


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(value: datetime) -> int:
    """An aware moment as whole microseconds since 1970: exact, for page cursors in URLs."""
    return (value - _EPOCH) // _MICROSECOND


def from_epoch_micros(micros: int) -> datetime:
    """The moment ``epoch_micros`` gave; OverflowError far outside the calendar."""
    return _EPOCH + timedelta(microseconds=micros)


def parse_day(text: str) -> date | None:
    """A day as a person types it: ISO 8601 (``2026-12-01``) or any date input format of the active
    language (``01.12.2026``, ``1/12/2026``, …), or None."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", *get_format("DATE_INPUT_FORMATS")):
        try:
            return datetime.strptime(text, pattern).date()
        except (ValueError, TypeError):
            continue
    return None


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on; a day the shorter month lacks becomes its last day
    (31 January + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
