"""Dates in each language's own format, one time zone (issue #13): the list and the detail agree, English
is written day first with a 24-hour clock, and the admin's rows never show UTC beside local times."""

from datetime import datetime

import pytest
from django.utils import formats, timezone, translation

from core.dates import DateFormatter, parse_day
from orders.models import Order, OrderEvent
from tests.factories import org_of


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "1 Dec 2026, 19:59"),
        ("de", "01.12.2026 19:59"),
        ("pl", "01.12.2026 19:59"),
        ("fr", "01/12/2026 19:59"),
        ("cs", "01.12.2026 19:59"),
    ],
)
def test_short_dates_in_each_language_and_the_portals_time_zone(language, expected, settings):
    """The list's dates: the language's own short format, in TIME_ZONE (Europe/Warsaw, UTC+1 in December)."""
    settings.TIME_ZONE = "Europe/Warsaw"
    moment = datetime(2026, 12, 1, 18, 59, tzinfo=timezone.get_fixed_timezone(0))
    with translation.override(language), timezone.override("Europe/Warsaw"):
        assert DateFormatter("SHORT_DATETIME_FORMAT")(moment) == expected
        assert formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") == expected


def test_english_long_dates_are_day_first_with_a_24_hour_clock():
    moment = datetime(2026, 12, 1, 18, 59, tzinfo=timezone.get_fixed_timezone(0))
    with translation.override("en"), timezone.override("Europe/Warsaw"):
        assert formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT") == "1 Dec 2026, 19:59"
        assert "p.m." not in formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


@pytest.mark.parametrize(
    ("language", "typed"),
    [
        ("en", "2026-12-01"),
        ("en", "01/12/2026"),
        ("de", "01.12.2026"),
        ("pl", "01.12.2026"),
        ("fr", "01/12/2026"),
    ],
)
def test_a_typed_day_reads_in_each_language(language, typed):
    with translation.override(language):
        assert parse_day(typed) == datetime(2026, 12, 1).date()
    assert parse_day("not a day") is None


@pytest.mark.django_db
def test_event_labels_in_the_admin_are_in_local_time(reseller):
    """An event's label (the admin's inline rows show it) is in the portal's time zone, not UTC."""
    order = Order.objects.create(reseller=org_of(reseller), placed_by=reseller, end_customer_email="a@b.test")
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.PLACED,
        at=datetime(2026, 12, 1, 18, 59, tzinfo=timezone.get_fixed_timezone(0)),
    )
    with timezone.override("Europe/Warsaw"):
        assert "2026-12-01 19:59" in str(event)
