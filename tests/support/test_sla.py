"""The first-answer clock on requests (SUP-8): it starts at arrival, pauses while waiting for the customer,
runs again when the customer answers, stops at the first public reply (not an internal note, not the
automatic acknowledgement); e-mail requests carry none; every move is recorded and explained; the periodic
check warns at 80 %, flags a breach, raises the priority and escalates by mail, once, even when two checks
run at once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from support.models import Channel, ClosedDay, Escalation, Kind, Message, SupportEvent, SupportRequest
from support.selectors import clock_explanation
from support.services.requests import request_customer_reply, request_file, request_move, request_staff_reply
from support.services.sla import clock_check, clocks_check
from support.tasks import check_clocks
from tests.conftest import run_concurrently

WARSAW = ZoneInfo("Europe/Warsaw")
Sla = SupportRequest.Sla


def at(*args):
    return datetime(*args, tzinfo=WARSAW)


def file(customer, member, licence, now, **extra):
    extra.setdefault("category", "technical_advice")
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        subject="Error 500",
        body="The shop shows an error.",
        now=now,
        **extra,
    )


def kinds(request):
    return list(request.events.filter(kind__in=SupportEvent.CLOCK_KINDS).values_list("kind", flat=True))


@pytest.fixture
def friday_request(customer, member, licence, settings):
    settings.TIME_ZONE = "Europe/Warsaw"
    return file(customer, member, licence, at(2026, 12, 4, 15, 0))


@pytest.mark.django_db
def test_sup8_a_request_on_friday_15_00_is_due_on_wednesday_15_00_and_explained(friday_request):
    """SUP-8: the clock starts at arrival; Friday 15:00 is due Wednesday 15:00; the explanation names the
    arrival, the weekend not counted and the due time."""
    request = friday_request
    assert request.sla_state == Sla.RUNNING
    assert request.due_at == at(2026, 12, 9, 15, 0)
    assert kinds(request) == [SupportEvent.Kind.CLOCK_STARTED]
    text = " ".join(clock_explanation(request))
    assert "Fri 4.12 15:00" in text and "Sat 5.12" in text and "Sun 6.12" in text and "Wed 9.12 15:00" in text


@pytest.mark.django_db
def test_sup8_a_holiday_and_a_closed_day_move_the_due_time(customer, member, licence, settings):
    """SUP-8: 11 November 2026 (a Polish public holiday) and a closed day staff added are not counted."""
    settings.TIME_ZONE = "Europe/Warsaw"
    ClosedDay.objects.create(day=at(2026, 11, 12).date(), reason="Inventory")
    request = file(customer, member, licence, at(2026, 11, 9, 10, 0))
    assert request.due_at == at(
        2026, 11, 16, 10, 0
    )  # Mon 14 h, Tue 24, (Wed holiday, Thu closed), Fri 24, Mon 10
    text = " ".join(clock_explanation(request))
    assert "National Independence Day" in text and "Inventory" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("to", "left", "said"),
    [
        # Waiting for the customer from Friday 17:00 to Monday 10:00: the explanation says how long it waited
        # (17 h of working time: Friday 17:00 → 24:00 and Monday 00:00 → 10:00; not the weekend).
        (
            SupportRequest.Status.WAITING,
            SupportEvent.Kind.CLOCK_PAUSED,
            "you answered, the clock runs again (waited 17 h",
        ),
        # Closed with no answer (in a bulk close, say), written to again: the first answer is still owed.
        (
            SupportRequest.Status.CLOSED,
            SupportEvent.Kind.CLOCK_LEFT,
            "you wrote again, the clock runs again (17 h of working time since it closed not counted",
        ),
    ],
)
def test_sup8_the_clock_stops_over_a_weekend_and_runs_again_when_the_customer_writes(
    friday_request, customer, member, staff, to, left, said
):
    """SUP-8: a request waiting for the customer, or closed before its first answer, from Friday 17:00 (2 h
    used) until the customer writes on Monday 10:00: the 70 h left run from Monday 10:00 to Thursday
    08:00, and the explanation says why."""
    request = friday_request
    request_move(request_id=request.pk, to=to, actor=staff, now=at(2026, 12, 4, 17, 0))
    request.refresh_from_db()
    assert (
        request.sla_state != Sla.RUNNING and request.due_at is None and request.sla_used_seconds == 2 * 3600
    )
    request_customer_reply(
        organisation=customer,
        request_id=request.pk,
        author=member,
        body="Here is the log.",
        now=at(2026, 12, 7, 10, 0),
    )
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.OPEN and request.sla_state == Sla.RUNNING
    assert request.due_at == at(2026, 12, 10, 8, 0)
    assert kinds(request) == [SupportEvent.Kind.CLOCK_STARTED, left, SupportEvent.Kind.CLOCK_RESUMED]
    assert said in " ".join(clock_explanation(request))


@pytest.mark.django_db
def test_sup8_no_clock_comes_back_for_a_request_answered_before_it_closed_or_one_by_email(
    customer, member, licence, staff
):
    """SUP-8: opened again after it closed, a request that had its first answer, or one that came by e-mail
    (no guaranteed time), runs no clock."""
    answered = file(customer, member, licence, at(2026, 12, 7, 11, 0))
    request_staff_reply(
        request_id=answered.pk,
        author=staff,
        body="Done.",
        internal=False,
        status="closed",
        now=at(2026, 12, 7, 12, 0),
    )
    emailed = file(customer, member, licence, at(2026, 12, 7, 11, 0), channel=Channel.EMAIL)
    request_move(
        request_id=emailed.pk, to=SupportRequest.Status.CLOSED, actor=staff, now=at(2026, 12, 7, 12, 0)
    )
    for request in (answered, emailed):
        request_customer_reply(
            organisation=customer,
            request_id=request.pk,
            author=member,
            body="Again.",
            now=at(2026, 12, 7, 13, 0),
        )
        request.refresh_from_db()
        assert request.status == SupportRequest.Status.OPEN
    assert answered.sla_state == Sla.ANSWERED and answered.first_answered_at == at(2026, 12, 7, 12, 0)
    assert emailed.sla_state == Sla.NONE and emailed.due_at is None


@pytest.mark.django_db
def test_sup8_a_wait_ended_by_another_move_than_the_customers_answer_runs_the_clock_again(
    friday_request, customer, member, staff
):
    """SUP-8: staff mark a request waiting for the customer as answered without a public reply (they
    phoned): that is not the first answer, so the clock runs again from then with the time it had left,
    and is still running when the customer writes back; only a public reply stops it."""
    request = friday_request
    request_move(
        request_id=request.pk, to=SupportRequest.Status.WAITING, actor=staff, now=at(2026, 12, 4, 17, 0)
    )
    request_move(
        request_id=request.pk, to=SupportRequest.Status.ANSWERED, actor=staff, now=at(2026, 12, 7, 10, 0)
    )
    request.refresh_from_db()
    assert request.sla_state == Sla.RUNNING and request.due_at == at(2026, 12, 10, 8, 0)
    assert "the wait for you ended" in " ".join(clock_explanation(request))
    request_customer_reply(
        organisation=customer,
        request_id=request.pk,
        author=member,
        body="Still broken.",
        now=at(2026, 12, 7, 12, 0),
    )
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.OPEN
    assert request.sla_state == Sla.RUNNING and request.due_at == at(2026, 12, 10, 8, 0)
    assert kinds(request) == [
        SupportEvent.Kind.CLOCK_STARTED,
        SupportEvent.Kind.CLOCK_PAUSED,
        SupportEvent.Kind.CLOCK_RESUMED,
    ]
    request_staff_reply(
        request_id=request.pk, author=staff, body="Fixed.", internal=False, now=at(2026, 12, 7, 13, 0)
    )
    request.refresh_from_db()
    assert request.sla_state == Sla.ANSWERED and request.first_answered_at == at(2026, 12, 7, 13, 0)


@pytest.mark.django_db
def test_sup8_an_internal_note_does_not_stop_the_clock_a_public_reply_does(friday_request, staff):
    """SUP-8: the automatic acknowledgement and an internal note leave the clock running; the first public
    reply stops it (answered in time)."""
    request = friday_request
    assert request.messages.filter(kind=Message.Kind.ACKNOWLEDGEMENT).exists()
    request_staff_reply(
        request_id=request.pk, author=staff, body="Looks like PHP.", internal=True, now=at(2026, 12, 7, 9, 0)
    )
    request.refresh_from_db()
    assert request.sla_state == Sla.RUNNING and request.status == SupportRequest.Status.NEW
    request_staff_reply(
        request_id=request.pk,
        author=staff,
        body="Please update PHP.",
        internal=False,
        now=at(2026, 12, 7, 10, 0),
    )
    request.refresh_from_db()
    assert request.sla_state == Sla.ANSWERED and request.status == SupportRequest.Status.ANSWERED
    assert request.first_answered_at == at(2026, 12, 7, 10, 0)
    answered = request.events.get(kind=SupportEvent.Kind.CLOCK_ANSWERED)
    assert answered.actor == staff and answered.data["in_time"] is True
    # The clock is for the first answer: the customer's next message does not start it again.
    request_customer_reply(
        organisation=request.organisation,
        request_id=request.pk,
        author=request.requester,
        body="Thanks",
        now=at(2026, 12, 7, 11, 0),
    )
    request.refresh_from_db()
    assert request.sla_state == Sla.ANSWERED and request.status == SupportRequest.Status.OPEN


@pytest.mark.django_db
def test_sup8_an_email_request_carries_no_guaranteed_time(customer, member, licence):
    """SUP-8: requests that came by e-mail have no clock, and say so."""
    request = file(customer, member, licence, at(2026, 12, 4, 15, 0), channel=Channel.EMAIL)
    assert request.sla_state == Sla.NONE and request.due_at is None
    assert kinds(request) == [SupportEvent.Kind.NO_CLOCK]
    assert "no guaranteed answer time" in " ".join(clock_explanation(request))


@pytest.mark.django_db
def test_sup8_the_check_warns_at_80_percent_then_flags_the_breach_raises_priority_and_escalates_once(
    friday_request, settings, django_capture_on_commit_callbacks
):
    """SUP-8: 80 % of 72 h = 57.6 h after Friday 15:00 = Wednesday 00:36; due Wednesday 15:00. The check
    warns once, then flags the breach once, raises the priority and mails SUPPORT_ESCALATION_EMAILS."""
    settings.SUPPORT_ESCALATION_EMAILS = ["escalation@distributor.test"]
    request = friday_request
    assert request.warn_at == at(2026, 12, 9, 0, 36)
    assert clocks_check(now=at(2026, 12, 9, 0, 35)) == 0
    assert clocks_check(now=at(2026, 12, 9, 0, 36)) == 1
    assert clocks_check(now=at(2026, 12, 9, 14, 59)) == 0
    request.refresh_from_db()
    assert request.sla_warned and not request.sla_breached
    with django_capture_on_commit_callbacks(execute=True):
        assert clocks_check(now=at(2026, 12, 9, 15, 0)) == 1
        assert clocks_check(now=at(2026, 12, 9, 16, 0)) == 0
    request.refresh_from_db()
    assert request.sla_breached and request.priority == SupportRequest.Priority.HIGH
    assert kinds(request).count(SupportEvent.Kind.CLOCK_BREACHED) == 1
    escalation = Escalation.objects.get(request=request)
    assert escalation.mail_sent_at is not None
    sent = [m for m in mail.outbox if m.to == ["escalation@distributor.test"]]
    assert len(sent) == 1 and request.number in sent[0].subject
    # A late first answer is recorded as not in time.
    request_staff_reply(
        request_id=request.pk,
        author=None,
        body="Sorry for the wait.",
        internal=False,
        now=at(2026, 12, 10, 9, 0),
    )
    assert request.events.get(kind=SupportEvent.Kind.CLOCK_ANSWERED).data["in_time"] is False


@pytest.mark.django_db
def test_sup8_the_periodic_task_is_idempotent(friday_request, settings):
    """ALL-5: the beat task run twice finds nothing more to do the second time."""
    SupportRequest.objects.filter(pk=friday_request.pk).update(
        due_at=at(2026, 12, 1), warn_at=at(2026, 12, 1)
    )
    first = check_clocks()
    second = check_clocks()
    assert first["events"] == 2 and second["events"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sup8_two_checks_at_once_flag_a_breach_once(customer, member, licence, settings):
    """SUP-8, race: two checks of the same breached clock at the same moment, each in its own transaction:
    one breach event, one escalation, the priority raised once."""
    settings.SUPPORT_ESCALATION_EMAILS = []
    request = file(customer, member, licence, at(2026, 12, 4, 15, 0))
    now = at(2026, 12, 10, 12, 0)
    results = run_concurrently([lambda: clock_check(request_id=request.pk, now=now)] * 2)
    assert sorted(len(r) for r in results) == [0, 2]
    request.refresh_from_db()
    assert request.priority == SupportRequest.Priority.HIGH
    assert SupportEvent.objects.filter(request=request, kind=SupportEvent.Kind.CLOCK_BREACHED).count() == 1
    assert Escalation.objects.filter(request=request).count() == 1


@pytest.mark.django_db
def test_sup8_closing_stops_the_clock(friday_request, staff):
    request_move(
        request_id=friday_request.pk, to=SupportRequest.Status.CLOSED, actor=staff, now=at(2026, 12, 7, 9, 0)
    )
    friday_request.refresh_from_db()
    assert friday_request.sla_state == Sla.NONE and friday_request.due_at is None
    assert clocks_check(now=at(2026, 12, 20)) == 0
