"""The staff triage queue in the admin (SUP-12, VL-10): filters, the time left as a column, bulk assign /
take / close (recorded, ALL-3), paging without an unbounded COUNT(*), a constant query count, and who sees
which kinds of request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from support.models import Channel, Kind, SupportEvent, SupportRequest
from support.selectors import visible_kinds
from support.services.requests import request_file
from support.triage import time_left
from tests.factories import login_staff_with_mfa, make_org, make_user

QUEUE = reverse("admin:support_supportrequest_changelist")
Sla = SupportRequest.Sla


def filed(customer, member, licence, **extra):
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category=extra.pop("category", "technical_advice"),
        subject=extra.pop("subject", "Error"),
        body="Broken",
        **extra,
    )


def bulk_requests(customer: Organisation, n: int, **fields) -> list[SupportRequest]:
    now = timezone.now()
    start = SupportRequest.objects.count()
    return SupportRequest.objects.bulk_create(
        SupportRequest(
            number=f"SUP-1999-{start + i + 1}",
            organisation=customer,
            subject=f"Bulk {i}",
            created_at=now,
            **fields,
        )
        for i in range(n)
    )


def desk_user(email: str, group: str):
    user = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, f"Distributor {email}"), email=email, is_staff=True
    )
    user.groups.add(
        Group.objects.get_or_create(name=group)[0]
    )  # a flushed database lost the migration's rows
    return user


def numbers(response) -> str:
    assert response.status_code == 200, response.content.decode()[:1000]
    return response.content.decode()


@pytest.mark.django_db
def test_sup12_filters_status_priority_channel_category_product_assignee_sla(
    staff_client, staff, customer, member, licence
):
    """SUP-12: each filter of the queue narrows the list to the requests it names."""
    mine = filed(customer, member, licence, subject="Mine")
    other = filed(customer, member, licence, subject="Other", category="custom_modifications")
    SupportRequest.objects.filter(pk=mine.pk).update(
        assignee=staff, priority=SupportRequest.Priority.URGENT, status="open"
    )
    SupportRequest.objects.filter(pk=other.pk).update(channel=Channel.PHONE, sla_breached=True)
    [late] = bulk_requests(customer, 1, sla_state=Sla.RUNNING, sla_warned=True, due_at=timezone.now())
    [none] = bulk_requests(customer, 1, sla_state=Sla.NONE)

    def shown(query: str) -> set[str]:
        html = numbers(staff_client.get(QUEUE + "?" + query))
        return {r.number for r in (mine, other, late, none) if f">{r.number}<" in html}

    assert shown("assignee=mine") == {mine.number}
    assert shown(f"assignee={staff.pk}") == {mine.number}
    assert shown("assignee=none") == {other.number, late.number, none.number}
    assert shown("status__exact=open") == {mine.number}
    assert shown("priority__exact=4") == {mine.number}
    assert shown("channel__exact=phone") == {other.number}
    assert shown("category__exact=custom_modifications") == {other.number}
    assert shown(f"product={licence.product_id}") == {mine.number, other.number}
    assert shown("sla=breached") == {other.number}
    assert shown("sla=due_soon") == {late.number}
    assert shown("sla=none") >= {none.number} and mine.number not in shown("sla=none")
    # ALL-2: an id int() refuses (a superscript digit, 5,000 digits) narrows nothing, never a server error.
    everyone = {mine.number, other.number, late.number, none.number}
    for odd in ("%C2%B2", "9" * 5000):
        assert shown(f"assignee={odd}") == everyone and shown(f"product={odd}") == everyone
    assert staff_client.get(reverse("admin:support_supportrequest_change", args=["²"])).status_code in (
        302,
        404,
    )


@pytest.mark.django_db
def test_sup12_time_left_column_in_words(staff_client, customer):
    """SUP-12/SUP-8: the time left from due_at: left, breached … ago, paused, no SLA, answered."""
    now = timezone.now()
    running = SupportRequest(sla_state=Sla.RUNNING, due_at=now + timedelta(hours=5, minutes=1))
    breached = SupportRequest(sla_state=Sla.RUNNING, due_at=now - timedelta(hours=3, minutes=1))
    assert time_left(running, now=now) == "5 h left"
    assert time_left(breached, now=now) == "breached 3 h ago"
    assert time_left(SupportRequest(sla_state=Sla.PAUSED), now=now) == "paused"
    assert time_left(SupportRequest(sla_state=Sla.NONE), now=now) == "no SLA"
    assert time_left(SupportRequest(sla_state=Sla.ANSWERED), now=now) == "answered"
    bulk_requests(customer, 1, sla_state=Sla.RUNNING, due_at=now - timedelta(hours=3, minutes=1))
    assert "breached 3 h ago" in numbers(staff_client.get(QUEUE))


@pytest.mark.django_db
def test_sup12_queue_pages_without_an_unbounded_count_and_constant_queries(
    staff_client, customer, django_assert_max_num_queries
):
    """SUP-12: at 100+ rows the changelist counts through a capped subquery (never COUNT(*) over the whole
    table) and its query count does not grow with the rows (select_related)."""
    staff_user = make_user(None, email="agent@distributor.test", is_staff=True)
    bulk_requests(customer, 30, assignee=staff_user)
    with CaptureQueriesContext(connection) as small:
        numbers(staff_client.get(QUEUE))
    bulk_requests(customer, 120, assignee=staff_user)
    with CaptureQueriesContext(connection) as large:
        html = numbers(staff_client.get(QUEUE + "?p=1"))
    assert "Bulk" in html
    counts = [q["sql"] for q in large.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts (capped)"
    for sql in counts:
        assert "LIMIT" in sql.upper(), sql
    assert len(large.captured_queries) <= len(small.captured_queries)
    with django_assert_max_num_queries(len(small.captured_queries)):
        staff_client.get(QUEUE + "?assignee=none")
    # No counts beside the filters either (the admin's facets would count every request once per filter).
    with CaptureQueriesContext(connection) as faceted:
        html = staff_client.get(QUEUE + "?_facets=1").content.decode()
    assert "Show counts" not in html and "Hide counts" not in html
    assert [q["sql"] for q in faceted.captured_queries if "COUNT(" in q["sql"].upper()] == counts[:1]


@pytest.mark.django_db
def test_sup12_all3_bulk_take_assign_and_close_are_recorded(staff_client, staff, customer, member, licence):
    """SUP-12/ALL-3: take assigns to me, assign to… asks for the staff member on an intermediate page,
    close goes through the state machine; each change is a SupportEvent."""
    first = filed(customer, member, licence, subject="One")
    second = filed(customer, member, licence, subject="Two")
    agent = make_user(None, email="agent@distributor.test", is_staff=True)
    ids = [first.pk, second.pk]
    response = staff_client.post(QUEUE, {"action": "take", "_selected_action": ids})
    assert response.status_code == 302
    assert set(SupportRequest.objects.values_list("assignee", flat=True)) == {staff.pk}
    assert SupportEvent.objects.filter(kind=SupportEvent.Kind.ASSIGNED, actor=staff).count() == 2

    page = staff_client.post(QUEUE, {"action": "assign_to", "_selected_action": ids})
    assert page.status_code == 200 and "agent@distributor.test" in page.content.decode()
    assert set(SupportRequest.objects.values_list("assignee", flat=True)) == {staff.pk}
    response = staff_client.post(
        QUEUE, {"action": "assign_to", "_selected_action": ids, "apply": "1", "assignee": agent.pk}
    )
    assert response.status_code == 302
    assert set(SupportRequest.objects.values_list("assignee", flat=True)) == {agent.pk}
    assert SupportEvent.objects.filter(kind=SupportEvent.Kind.ASSIGNED, data__to=agent.pk).count() == 2

    response = staff_client.post(QUEUE, {"action": "close", "_selected_action": [first.pk]})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == SupportRequest.Status.CLOSED and second.status != SupportRequest.Status.CLOSED
    assert SupportEvent.objects.filter(
        request=first, kind=SupportEvent.Kind.STATUS, actor=staff, data__to="closed"
    ).exists()


@pytest.mark.django_db
def test_sup12_vl10_agents_see_support_requests_specialists_see_ordering_questions(client, customer):
    """SUP-12/VL-10: support agents see support, pre-sales, activation and resellers' ordering requests;
    licensing specialists see the ordering questions on volume licences; one group's request is a 404 to
    the other; staff in neither see nothing."""
    [support] = bulk_requests(customer, 1, kind=Kind.SUPPORT)
    [ordering] = bulk_requests(customer, 1, kind=Kind.VOLUME_ORDERING)
    agent = desk_user("agent@distributor.test", "Support agents")
    specialist = desk_user("licensing@distributor.test", "Licensing specialists")
    nobody = make_user(None, email="clerk@distributor.test", is_staff=True)
    assert visible_kinds(agent) == {"support", "pre_sales", "activation", "ordering"}
    assert visible_kinds(specialist) == {"volume_ordering"}
    assert visible_kinds(nobody) == frozenset()

    login_staff_with_mfa(client, agent)
    html = numbers(client.get(QUEUE))
    assert support.number in html and ordering.number not in html
    change = "admin:support_supportrequest_change"
    assert client.get(reverse(change, args=[support.pk])).status_code == 200
    assert client.get(reverse(change, args=[ordering.pk])).status_code in (302, 404)
    client.post(QUEUE, {"action": "close", "_selected_action": [ordering.pk]})
    assert SupportRequest.objects.get(pk=ordering.pk).status != SupportRequest.Status.CLOSED

    client.logout()
    login_staff_with_mfa(client, specialist)
    html = numbers(client.get(QUEUE))
    assert ordering.number in html and support.number not in html

    client.logout()
    login_staff_with_mfa(client, nobody)
    assert client.get(QUEUE).status_code == 403


@pytest.mark.django_db
def test_sup12_request_page_conversation_notes_apart_files_and_clock_history(
    client, staff_client, staff, customer, member, licence
):
    """SUP-12/SUP-8: the admin request page shows public replies and internal notes apart, the files through
    the staff access check (a download), and every clock event with the clock explained in words."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from support.services.requests import attachment_stash, request_staff_reply

    upload = SimpleUploadedFile("error-log.txt", b"stack trace", content_type="text/plain")
    stashed = attachment_stash(organisation=customer, user=member, upload=upload)
    request = filed(customer, member, licence, attachment_ids=[stashed.pk])
    request_staff_reply(request_id=request.pk, author=staff, body="Looks like the cache", internal=True)
    request_staff_reply(request_id=request.pk, author=staff, body="Please clear the cache.", internal=False)
    html = numbers(staff_client.get(reverse("admin:support_supportrequest_change", args=[request.pk])))
    assert "support-message--internal_note" in html and "support-message--public_reply" in html
    assert "never shown or mailed to the customer" in html
    assert "Looks like the cache" in html and "Please clear the cache." in html
    assert "Clock started" in html and "First answer given" in html
    assert "the clock started" in html  # the explanation in words
    link = reverse("admin:support_supportrequest_attachment", args=[stashed.pk])
    assert link in html
    download = staff_client.get(link)
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == b"stack trace"
    # A licensing specialist does not see support requests, nor their files (404 like a missing one).
    specialist = desk_user("licensing@distributor.test", "Licensing specialists")
    client.logout()
    login_staff_with_mfa(client, specialist)
    assert client.get(link).status_code == 404
    assert client.get(reverse("admin:support_supportrequest_attachment", args=[999999])).status_code == 404
