"""The first-answer clock's arithmetic (SUP-8) at its edges: Friday afternoon, a public holiday, a closed
day, a request on a weekend, a change of summer time in the distributor's time zone. Pure functions: no
database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest

from support import clock

WARSAW = ZoneInfo("Europe/Warsaw")
H72 = 72 * 3600


def polish(*years: int) -> clock.WorkingCalendar:
    return clock.WorkingCalendar(zone=WARSAW, closed=dict(holidays.country_holidays("PL", years=list(years))))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


def test_sup8_friday_15_00_is_due_on_wednesday_15_00():
    """SUP-8: Friday 15:00 + 72 working hours = Wednesday 15:00 (9 h Fri, 24 Mon, 24 Tue, 15 Wed)."""
    cal = polish(2026)
    due = clock.add_working_seconds(local(2026, 12, 4, 15, 0), H72, cal)
    assert due.astimezone(WARSAW) == local(2026, 12, 9, 15, 0)
    assert clock.working_seconds(local(2026, 12, 4, 15, 0), due, cal) == H72


def test_sup8_a_polish_public_holiday_does_not_count():
    """SUP-8: 11 November 2026 (National Independence Day, a Wednesday) is skipped: Monday 9 November 10:00
    is due on Friday 13 November 10:00 instead of Thursday."""
    cal = polish(2026)
    assert not cal.is_working(date(2026, 11, 11))
    due = clock.add_working_seconds(local(2026, 11, 9, 10, 0), H72, cal)
    assert due.astimezone(WARSAW) == local(2026, 11, 13, 10, 0)
    skipped = clock.skipped_days(local(2026, 11, 9, 10, 0), due, cal)
    assert skipped == [(date(2026, 11, 11), "National Independence Day")]


def test_sup8_a_closed_day_staff_added_does_not_count():
    """SUP-8: a closed day (staff's) is skipped like a holiday."""
    cal = clock.WorkingCalendar(zone=WARSAW, closed={date(2026, 12, 7): "Team day"})
    due = clock.add_working_seconds(local(2026, 12, 4, 15, 0), H72, cal)
    assert due.astimezone(WARSAW) == local(2026, 12, 10, 15, 0)


def test_sup8_a_request_on_saturday_starts_counting_on_monday_morning():
    """SUP-8: nothing counts on a weekend; from Saturday the 72 hours begin Monday 00:00."""
    cal = polish(2026)
    due = clock.add_working_seconds(local(2026, 12, 5, 11, 30), H72, cal)
    assert due.astimezone(WARSAW) == local(2026, 12, 10, 0, 0)
    assert clock.working_seconds(local(2026, 12, 5, 11, 30), local(2026, 12, 7, 0, 0), cal) == 0


def test_sup8_a_pause_over_a_weekend_keeps_the_time_left():
    """SUP-8: arrived Friday 15:00, paused from Friday 23:00 (8 h used) to Monday 10:00: the 64 h left run
    from Monday 10:00 (14 h Mon, 24 Tue, 24 Wed, 2 Thu) to Thursday 02:00; the weekend cost nothing."""
    cal = polish(2026)
    used = clock.working_seconds(local(2026, 12, 4, 15, 0), local(2026, 12, 4, 23, 0), cal)
    assert used == 8 * 3600
    times = clock.running_times(
        since=local(2026, 12, 7, 10, 0), used=used, budget=H72, warn_percent=80, calendar=cal
    )
    assert times.due_at.astimezone(WARSAW) == local(2026, 12, 10, 2, 0)
    # 80 % = 57.6 h; 8 h used before: 49.6 h after Monday 10:00 = Wednesday 11:36.
    assert times.warn_at.astimezone(WARSAW) == local(2026, 12, 9, 11, 36)


def test_sup8_summer_time_ending_on_the_weekend_keeps_the_local_hour():
    """SUP-8, DST: Warsaw leaves summer time on Sunday 25 October 2026. Thursday 22 October 10:00 (08:00
    UTC) is due Tuesday 27 October 10:00 local (09:00 UTC): the hour the clocks went back is on a Sunday and
    does not count, and the due time keeps the local hour."""
    cal = polish(2026)
    start = local(2026, 10, 22, 10, 0)
    assert start.astimezone(UTC).hour == 8
    due = clock.add_working_seconds(start, H72, cal)
    assert due.astimezone(WARSAW) == local(2026, 10, 27, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    assert clock.working_seconds(start, due, cal) == H72


def test_sup8_a_working_day_with_a_time_change_counts_its_real_length():
    """SUP-8, DST: in a zone where the change falls on a working day (New York, Sunday there too, so use a
    calendar that works Sundays off only by date: a day is counted as the real time it lasts)."""
    zone = ZoneInfo("America/New_York")
    cal = clock.WorkingCalendar(zone=zone)
    # Friday 6 March 2026 00:00 to Monday 9 March 00:00: only Friday counts, 24 h, whatever the Sunday did.
    assert (
        clock.working_seconds(datetime(2026, 3, 6, tzinfo=zone), datetime(2026, 3, 9, tzinfo=zone), cal)
        == 24 * 3600
    )
    # Monday to Tuesday after the change: 24 real hours.
    assert (
        clock.working_seconds(datetime(2026, 3, 9, tzinfo=zone), datetime(2026, 3, 10, tzinfo=zone), cal)
        == 24 * 3600
    )


def test_sup8_working_seconds_is_zero_backwards_and_add_zero_is_the_start_on_a_working_day():
    cal = polish(2026)
    assert clock.working_seconds(local(2026, 12, 9, 12, 0), local(2026, 12, 8, 12, 0), cal) == 0
    assert clock.add_working_seconds(local(2026, 12, 9, 12, 0), 0, cal) == local(2026, 12, 9, 12, 0)


def test_sup8_merge_closed_keeps_the_first_reason():
    merged = clock.merge_closed(
        [(date(2026, 11, 11), "Holiday")], [(date(2026, 11, 11), "Staff"), (date(2026, 12, 7), "")]
    )
    assert merged == {date(2026, 11, 11): "Holiday", date(2026, 12, 7): ""}


@pytest.mark.parametrize("hours", [1, 24, 71, 72, 100])
def test_sup8_adding_then_counting_gives_back_the_hours(hours):
    cal = polish(2026, 2027)
    start = local(2026, 12, 23, 16, 45)  # Christmas holidays ahead
    due = clock.add_working_seconds(start, hours * 3600, cal)
    assert clock.working_seconds(start, due, cal) == hours * 3600
