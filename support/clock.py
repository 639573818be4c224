"""The first-answer clock's arithmetic (SUP-8): pure functions, no database, no settings.

Time counts only on working days: a working day runs from local midnight to the next local midnight in the
distributor's time zone and is neither a Saturday, a Sunday nor a closed day (public holidays and the days
staff closed). A working day counts as the real time it lasts (24 hours; 23 or 25 where a time-zone change
falls on it). All arithmetic is done in UTC, the calendar is read in local time, so a change of summer time
never shifts a due time by an hour: 72 working hours from Thursday 10:00 are Tuesday 10:00 local time
whatever happened to the clocks on the weekend.

``budget`` is the working time allowed (72 hours). The clock's state is kept as the working seconds used
before the current running stretch began plus that stretch's start: ``due_at(start, budget - used)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count: not Saturday or Sunday, not in ``closed`` (a day → why it is closed)."""

    zone: tzinfo
    closed: Mapping[date, str] = field(default_factory=dict)

    def is_working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closed

    def why_not_working(self, day: date) -> str:
        """'' for a working day, else the closed day's reason or ``weekend``."""
        if day in self.closed:
            return self.closed[day] or "closed"
        return "weekend" if day.weekday() >= 5 else ""

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        """The first moment of ``day`` in local time, as UTC."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)


def working_seconds(start: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """The working seconds between two aware moments (0 if ``end`` is not after ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    cursor = start
    while cursor < end:
        day = calendar.local_day(cursor)
        next_start = calendar.day_start(day + DAY)
        stretch_end = min(next_start, end)
        if calendar.is_working(day):
            total += stretch_end - cursor
        cursor = stretch_end
    return int(total.total_seconds())


def add_working_seconds(start: datetime, seconds: int, calendar: WorkingCalendar) -> datetime:
    """The moment ``seconds`` of working time after ``start`` (UTC). From a non-working day the count
    begins at the next working day's midnight."""
    cursor = start.astimezone(UTC)
    left = timedelta(seconds=max(0, seconds))
    for _ in range(3660):  # ten years of days: a calendar closed for longer is a configuration error
        day = calendar.local_day(cursor)
        next_start = calendar.day_start(day + DAY)
        if calendar.is_working(day):
            available = next_start - cursor
            if left <= available:
                return cursor + left
            left -= available
        cursor = next_start
    raise ValueError("no working day within ten years")


def skipped_days(start: datetime, end: datetime, calendar: WorkingCalendar) -> list[tuple[date, str]]:
    """The days between two moments that did not count, each with why (``weekend`` or the closed day's
    reason), for explaining a due time."""
    first, last = calendar.local_day(start), calendar.local_day(end)
    days = []
    day = first
    while day <= last:
        if not calendar.is_working(day):
            days.append((day, calendar.why_not_working(day)))
        day += DAY
    return days


@dataclass(frozen=True)
class ClockTimes:
    """Where a running clock stands: when the answer is due and when the queue warns."""

    due_at: datetime
    warn_at: datetime


def running_times(
    *, since: datetime, used: int, budget: int, warn_percent: int, calendar: WorkingCalendar
) -> ClockTimes:
    """Due and warning moments of a clock running since ``since`` with ``used`` working seconds already
    spent before (a pause in between) out of ``budget``."""
    warn_mark = budget * warn_percent // 100
    return ClockTimes(
        due_at=add_working_seconds(since, budget - used, calendar),
        warn_at=add_working_seconds(since, max(0, warn_mark - used), calendar),
    )


def years_between(start: datetime, end: datetime) -> list[int]:
    return list(range(start.year - 1, end.year + 2))


def merge_closed(*sources: Iterable[tuple[date, str]]) -> dict[date, str]:
    """One mapping of closed days from several sources (holidays, staff's closed days); the first reason
    given for a day wins."""
    closed: dict[date, str] = {}
    for source in sources:
        for day, reason in source:
            closed.setdefault(day, reason)
    return closed
