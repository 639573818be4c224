"""The staff desk's two busiest pages in the admin (SUP-12): the queue's rows come from one template with
the admin's own action checkboxes and sorting, a page of 25, a count capped at 1,000; a request's page shows
its facts, the conversation (internal notes set apart by a class, as the CSP allows no inline style) and the
history with the clock explained, and offers only staff as assignees."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Organisation
from support import triage
from support.models import SupportRequest
from support.services import sla
from support.services.requests import request_staff_reply
from tests.factories import make_org, make_user

from .test_admin import filed
from .test_triage import QUEUE, bulk_requests, numbers


@pytest.mark.django_db
def test_sup12_queue_rows_carry_the_admins_action_checkboxes_and_sort_links(staff_client, customer):
    """SUP-12: 30 requests show as a page of 25 rows, each with the checkbox the bulk actions read
    (``_selected_action``) and a link to its page; the headers keep the admin's sort links."""
    rows = bulk_requests(customer, 30)
    html = numbers(staff_client.get(QUEUE))
    boxes = re.findall(r'name="_selected_action" value="(\d+)" class="action-select"', html)
    assert len(boxes) == 25
    assert set(map(int, boxes)) <= {r.pk for r in rows}
    assert 'id="action-toggle"' in html and "?o=" in html
    first = SupportRequest.objects.get(pk=int(boxes[0]))
    assert reverse("admin:support_supportrequest_change", args=[first.pk]) in html
    assert "30 requests" in html
    assert "Bulk" in numbers(staff_client.get(QUEUE + "?p=2"))


@pytest.mark.django_db
def test_sup12_queue_count_is_capped_and_says_so(staff_client, customer, monkeypatch):
    """SUP-12: past the cap the queue says "more than" instead of counting the whole table, and its count
    query is limited and unordered."""
    monkeypatch.setattr(triage, "COUNT_CAP", 40)
    bulk_requests(customer, 45)
    html = numbers(staff_client.get(QUEUE))
    assert "More than 40 requests: narrow them with the filters." in html
    assert "45 requests" not in html


@pytest.mark.django_db
def test_sup12_request_page_sets_internal_notes_apart_and_offers_only_staff(
    staff_client, staff, customer, member, licence
):
    """SUP-12: the request's facts, a public reply and an internal note each with its class (styled by the
    desk's stylesheet; no inline style under the CSP), the history with the clock explained; the assignee
    list holds staff only, never the customer's people (a customer's member is an account too)."""
    request = filed(customer, member, licence)
    request_staff_reply(request_id=request.pk, author=staff, body="Looking into it", internal=True, status="")
    request_staff_reply(request_id=request.pk, author=staff, body="Try again now.", internal=False, status="")
    html = numbers(staff_client.get(reverse("admin:support_supportrequest_change", args=[request.pk])))
    assert request.number in html and customer.name in html and "https://shop.acme.test" in html
    assert 'class="support-message support-message--internal_note"' in html
    assert 'class="support-message support-message--public_reply"' in html
    assert "css/admin_support" in html and 'style="' not in html.split('id="content"')[1]
    assert "The first-answer clock explained" in html and "the clock started" in html
    options = re.search(r'<select name="assignee"[^>]*>(.*?)</select>', html, re.S)
    assert options and staff.email in options.group(1) and member.email not in options.group(1)
    other = make_user(make_org(Organisation.Kind.CUSTOMER, "Not staff"), email="people@elsewhere.test")
    assert other.email not in html


def test_sup8_public_holidays_are_computed_once_per_country_and_years():
    """SUP-8: the holidays package's calendar is built once a process for a country and years (the clock
    and the request page ask for it on every use)."""
    sla.public_holidays.cache_clear()
    first = sla.public_holidays("PL", (2025, 2026, 2027))
    again = sla.public_holidays("PL", (2025, 2026, 2027))
    assert first is again
    assert any(day.isoformat() == "2026-11-11" for day, _name in first)
    assert sla.public_holidays.cache_info().hits >= 1


@pytest.mark.django_db
def test_sup12_request_page_reads_a_constant_number_of_queries(
    staff_client, staff, customer, member, licence
):
    """SUP-12: the request's page reads the same number of queries with one message as with many (the
    request with its organisation, requester, licence and assignee in one; messages with their files in
    two; events once for the history and the clock)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request = filed(customer, member, licence)
    url = reverse("admin:support_supportrequest_change", args=[request.pk])
    staff_client.get(url)
    with CaptureQueriesContext(connection) as few:
        numbers(staff_client.get(url))
    for n in range(6):
        request_staff_reply(request_id=request.pk, author=staff, body=f"Note {n}", internal=True, status="")
    with CaptureQueriesContext(connection) as many:
        html = numbers(staff_client.get(url))
    assert "Note 5" in html
    assert len(many.captured_queries) == len(few.captured_queries)
    tables = " ".join(q["sql"] for q in many.captured_queries)
    assert tables.count('FROM "accounts_organisation"') == 0  # joined to the request, not read apart
