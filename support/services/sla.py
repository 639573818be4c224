"""The first-answer clock of a request (SUP-8), on the arithmetic of ``support.clock``.

The clock starts when a request arrives (none for e-mail requests, none for a category support does not
cover), pauses while the request waits for the customer, runs again when the customer answers, and stops
at the first public reply by staff (an internal note or the automatic acknowledgement does not stop it).
Each move is a ``SupportEvent`` written with the request's row in the same transaction. The helpers below
set the move on a request whose row the caller holds locked and return the fields to save with it.

``clock_check`` is the periodic task's service: at ``SUPPORT_WARN_PERCENT`` it flags a warning, past the
due time a breach (the priority raised, an escalation mailed to ``SUPPORT_ESCALATION_EMAILS``). It locks the
row and looks at the flags first, so two checks at once act once.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

import holidays
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.tasking import enqueue_on_commit

from .. import clock
from ..models import Channel, ClosedDay, Escalation, SupportEvent, SupportRequest

Sla = SupportRequest.Sla


def budget_seconds() -> int:
    return int(settings.SUPPORT_SLA_HOURS) * 3600


def working_calendar(*, around: datetime | None = None) -> clock.WorkingCalendar:
    """The distributor's working days around a moment (the year before to the year after): the public
    holidays of ``SUPPORT_COUNTRY`` and the closed days staff added. One query."""
    moment = timezone.localtime(around or timezone.now())
    years = tuple(range(moment.year - 1, moment.year + 2))
    staff = ClosedDay.objects.filter(day__year__in=years).values_list("day", "reason")
    return clock.WorkingCalendar(
        zone=timezone.get_default_timezone(),
        closed=clock.merge_closed(
            public_holidays(settings.SUPPORT_COUNTRY, years),
            ((day, reason or "closed") for day, reason in staff),
        ),
    )


@functools.lru_cache(maxsize=16)
def public_holidays(country: str, years: tuple[int, ...]) -> tuple[tuple[date, str], ...]:
    """A country's public holidays in those years (the ``holidays`` package computes them, which takes
    milliseconds; they do not change while the process runs)."""
    return tuple(holidays.country_holidays(country, years=list(years)).items())


def _event(request: SupportRequest, kind: str, at: datetime, actor: Any = None, **data: Any) -> None:
    SupportEvent.objects.create(request=request, kind=kind, at=at, actor=actor, data=data)


def _run(request: SupportRequest, since: datetime, calendar: clock.WorkingCalendar) -> clock.ClockTimes:
    times = clock.running_times(
        since=since,
        used=request.sla_used_seconds,
        budget=budget_seconds(),
        warn_percent=int(settings.SUPPORT_WARN_PERCENT),
        calendar=calendar,
    )
    request.sla_state, request.sla_running_since = Sla.RUNNING, since
    request.due_at, request.warn_at = times.due_at, times.warn_at
    return times


_CLOCK_FIELDS = ["sla_state", "sla_used_seconds", "sla_running_since", "due_at", "warn_at"]


def clock_begin(request: SupportRequest, *, now: datetime, calendar: clock.WorkingCalendar) -> list[str]:
    """Start the clock of a request that just arrived, or record why it has none (e-mail, not covered)."""
    if request.channel == Channel.EMAIL:
        request.sla_state = Sla.NONE
        _event(request, SupportEvent.Kind.NO_CLOCK, now, reason="email")
    elif not request.covered:
        request.sla_state = Sla.NONE
        _event(request, SupportEvent.Kind.CLOCK_LEFT, now, reason=request.not_covered)
    else:
        request.sla_used_seconds = 0
        times = _run(request, now, calendar)
        _event(request, SupportEvent.Kind.CLOCK_STARTED, now, due_at=times.due_at.isoformat())
    return list(_CLOCK_FIELDS)


def clock_pause(
    request: SupportRequest, *, now: datetime, actor: Any, calendar: clock.WorkingCalendar
) -> list[str]:
    """Waiting for the customer: the time used so far is kept, nothing is due while paused."""
    if request.sla_state != Sla.RUNNING:
        return []
    assert request.sla_running_since is not None
    request.sla_used_seconds += clock.working_seconds(request.sla_running_since, now, calendar)
    request.sla_state, request.sla_running_since, request.due_at, request.warn_at = (
        Sla.PAUSED,
        None,
        None,
        None,
    )
    _event(request, SupportEvent.Kind.CLOCK_PAUSED, now, actor, used=request.sla_used_seconds)
    return list(_CLOCK_FIELDS)


def clock_resume(
    request: SupportRequest, *, now: datetime, actor: Any, calendar: clock.WorkingCalendar
) -> list[str]:
    """The wait for the customer ended (they answered, or staff moved the request on): the clock runs
    again with the time it had left. The event says which (``by``), for the explanation."""
    if request.sla_state != Sla.PAUSED:
        return []
    times = _run(request, now, calendar)
    by = "staff" if getattr(actor, "is_staff", False) else "customer"
    _event(request, SupportEvent.Kind.CLOCK_RESUMED, now, actor, due_at=times.due_at.isoformat(), by=by)
    return list(_CLOCK_FIELDS)


def clock_answer(
    request: SupportRequest, *, now: datetime, actor: Any, calendar: clock.WorkingCalendar
) -> list[str]:
    """The first public reply by staff: the clock stops for good (SUP-8)."""
    if request.sla_state not in (Sla.RUNNING, Sla.PAUSED):
        return []
    if request.sla_state == Sla.RUNNING and request.sla_running_since is not None:
        request.sla_used_seconds += clock.working_seconds(request.sla_running_since, now, calendar)
    in_time = request.sla_used_seconds <= budget_seconds()
    request.sla_state, request.sla_running_since, request.warn_at = Sla.ANSWERED, None, None
    request.first_answered_at = now
    _event(
        request, SupportEvent.Kind.CLOCK_ANSWERED, now, actor, used=request.sla_used_seconds, in_time=in_time
    )
    return [*_CLOCK_FIELDS, "first_answered_at"]


def clock_stop(
    request: SupportRequest,
    *,
    now: datetime,
    actor: Any,
    reason: str,
    calendar: clock.WorkingCalendar,
) -> list[str]:
    """The request left the clock without an answer (closed, or found not covered): nothing is due. The
    working time used so far is kept, for a closed request the customer opens again."""
    if request.sla_state not in (Sla.RUNNING, Sla.PAUSED):
        return []
    if request.sla_state == Sla.RUNNING and request.sla_running_since is not None:
        request.sla_used_seconds += clock.working_seconds(request.sla_running_since, now, calendar)
    request.sla_state, request.sla_running_since, request.due_at, request.warn_at = Sla.NONE, None, None, None
    _event(request, SupportEvent.Kind.CLOCK_LEFT, now, actor, reason=reason)
    return list(_CLOCK_FIELDS)


def clock_reopen(
    request: SupportRequest, *, now: datetime, actor: Any, calendar: clock.WorkingCalendar
) -> list[str]:
    """A request closed before its first answer, opened again by the customer's message: the first answer
    is still owed, so the clock runs again with the time it had left (SUP-8). Not for a request that never
    had a clock (e-mail) or left it as not covered."""
    if (
        request.sla_state != Sla.NONE
        or request.first_answered_at is not None
        or not request.covered
        or request.channel == Channel.EMAIL
    ):
        return []
    times = _run(request, now, calendar)
    due = times.due_at.isoformat()
    _event(request, SupportEvent.Kind.CLOCK_RESUMED, now, actor, due_at=due, reopened=True)
    return list(_CLOCK_FIELDS)


def clock_check(*, request_id: int, now: datetime | None = None) -> list[str]:
    """Flag the warning and the breach of one running clock, once each; the events written (kinds)."""
    now = now or timezone.now()
    done: list[str] = []
    with transaction.atomic():
        request = SupportRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.sla_state != Sla.RUNNING:
            return done
        fields: list[str] = []
        if not request.sla_warned and request.warn_at is not None and request.warn_at <= now:
            request.sla_warned = True
            fields.append("sla_warned")
            _event(
                request,
                SupportEvent.Kind.CLOCK_WARNED,
                now,
                due_at=request.due_at.isoformat() if request.due_at else "",
            )
            done.append(SupportEvent.Kind.CLOCK_WARNED)
        if not request.sla_breached and request.due_at is not None and request.due_at <= now:
            request.sla_breached = True
            before = request.priority
            request.priority = min(
                SupportRequest.Priority.URGENT, max(SupportRequest.Priority.HIGH, before + 1)
            )
            fields += ["sla_breached", "priority"]
            _event(request, SupportEvent.Kind.CLOCK_BREACHED, now, due_at=request.due_at.isoformat())
            _event(request, SupportEvent.Kind.PRIORITY, now, before=before, after=request.priority)
            escalation, created = Escalation.objects.get_or_create(request=request)
            if created:
                enqueue_on_commit("support.tasks.send_escalation", escalation.pk)
            done.append(SupportEvent.Kind.CLOCK_BREACHED)
        if fields:
            request.save(update_fields=fields)
    return done


def clocks_check(*, now: datetime | None = None, limit: int = 500) -> int:
    """Check every clock past its warning or due time (the periodic task); the number of events written.
    Idempotent: a clock flagged once is not picked again."""
    now = now or timezone.now()
    ids = list(
        SupportRequest.objects.clocks_to_check(now).order_by("due_at").values_list("pk", flat=True)[:limit]
    )
    return sum(len(clock_check(request_id=pk, now=now)) for pk in ids)
