"""core.paging: keyset pages and their cursors, on real rows (ALL-2: no cursor a user can type breaks a page)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Organisation
from core.paging import format_cursor, keyset_page, parse_cursor

KINDS = (datetime, int)


def test_all2_cursors_round_trip_and_anything_else_reads_as_none():
    moment = datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=UTC)
    key = uuid.uuid4()
    cursor = format_cursor([moment, 42, key])
    assert parse_cursor(cursor, (datetime, int, uuid.UUID)) == (moment, 42, key)
    assert (
        cursor
        == f"{int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))}.42.{key.hex}"
    )
    for bad in (
        None,
        "",
        "1",
        "1.2.3",
        "x.1",
        "1.x",
        f"1.{2**63}",
        f"1.{-(2**63) - 1}",
        f"{10**30}.1",
        "1.2\x00",
    ):
        assert parse_cursor(bad, KINDS) is None, bad
    assert parse_cursor(f"1.{2**63 - 1}", KINDS) == (
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=1),
        2**63 - 1,
    )


def test_all2_day_cursors_round_trip_and_days_outside_the_calendar_read_as_none():
    """A day (a licence's purchase date) is a cursor part too: its ordinal, back to the same day."""
    day = date(2026, 2, 28)
    cursor = format_cursor([day, 7])
    assert cursor == f"{day.toordinal()}.7"
    assert parse_cursor(cursor, (date, int)) == (day, 7)
    for bad in ("0.1", "-5.1", f"{10**30}.1", f"{date.max.toordinal() + 1}.1", "x.1"):
        assert parse_cursor(bad, (date, int)) is None, bad


@pytest.mark.django_db
def test_all2_pages_walk_older_and_newer_through_ties_and_show_every_row_once():
    """Rows sharing the first field (one moment) are told apart by the next; Older then Newer walks back to
    the same pages; a cursor that does not read, or points past the end, shows the first page or nothing."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(11):
        Organisation.objects.create(
            name=f"O{i}", kind=Organisation.Kind.CUSTOMER, created_at=base + timedelta(days=i // 3)
        )
    rows = Organisation.objects.filter(name__startswith="O").values("id", "name", "created_at")
    expected = [r["name"] for r in rows.order_by("-created_at", "-id")]
    fields = ("created_at", "id")

    seen, page, pages = [], keyset_page(rows, fields=fields, kinds=KINDS, size=4), []
    while True:
        pages.append(page)
        seen += [r["name"] for r in page.rows]
        if page.older is None:
            break
        page = keyset_page(rows, fields=fields, kinds=KINDS, before=page.older, size=4)
    assert seen == expected and [len(p.rows) for p in pages] == [4, 4, 3]
    assert pages[0].newer is None and pages[1].newer is not None and pages[1].here.startswith("before=")
    back = keyset_page(rows, fields=fields, kinds=KINDS, after=pages[2].newer, size=4)
    assert [r["name"] for r in back.rows] == [r["name"] for r in pages[1].rows]
    first = keyset_page(rows, fields=fields, kinds=KINDS, after=pages[1].newer, size=4)
    assert [r["name"] for r in first.rows] == expected[:4] and first.newer is None

    assert keyset_page(rows, fields=fields, kinds=KINDS, before="garbage", size=4).rows == pages[0].rows
    past = format_cursor([base - timedelta(days=1), 1])
    assert keyset_page(rows, fields=fields, kinds=KINDS, before=past, size=4).rows == []
    again = keyset_page(rows, fields=fields, kinds=KINDS, before=past, size=4, first_page_when_empty=True)
    assert again.rows == pages[0].rows and again.here == ""


def test_pager_links_keep_what_the_list_was_asked_for():
    """The "Newer" / "Older" links keep the list's filter or search in front of the cursor, encoded once,
    and are empty at either end of the list."""
    from core.paging import pager_links

    assert pager_links("5.9", None) == {"newer_url": "?after=5.9", "older_url": ""}
    assert pager_links(None, "3.1", {"q": "a b&c"}) == {"newer_url": "", "older_url": "?q=a+b%26c&before=3.1"}
    assert pager_links("7", "2", "status=open") == {
        "newer_url": "?status=open&after=7",
        "older_url": "?status=open&before=2",
    }
