"""The support desk's reads, each scoped to the organisation the request acts for (ALL-1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation
from centre.models import Licence
from core.newest_first import newest_first_page
from core.paging import KeysetPage

from . import clock
from .models import TEAM_GROUPS, Attachment, Kind, Message, SupportEvent, SupportRequest, Team, team_for
from .services.sla import working_calendar

REQUEST_PAGE_SIZE = 25
# What the list of requests (``support/list.html``) shows of each: the only fields its pages read.
LIST_FIELDS = ("pk", "number", "subject", "status", "kind", "sla_state", "due_at", "created_at")


def request_page(
    *,
    organisation: Organisation,
    before: str | None = None,
    after: str | None = None,
    size: int = REQUEST_PAGE_SIZE,
) -> KeysetPage:
    """The organisation's requests, newest first, ``size`` a page: one query from the (organisation,
    arrival, id) index wherever the page is."""
    rows = SupportRequest.objects.for_org(organisation).only(*LIST_FIELDS, "organisation_id")
    return newest_first_page(rows, on="created_at", before=before, after=after, size=size)


def request_get(*, organisation: Organisation, request_id: Any) -> SupportRequest:
    """One request of the organisation; ``SupportRequest.DoesNotExist`` for another organisation's as for a
    missing one (ALL-1)."""
    return (
        SupportRequest.objects.for_org(organisation)
        .select_related("licence__product", "requester")
        .get(pk=request_id)
    )


def public_conversation(request: SupportRequest) -> list[Message]:
    """What the customer sees of the conversation: never an internal note. Two queries."""
    return list(
        request.messages.filter(kind__in=Message.PUBLIC_KINDS)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "id")
    )


def attachment_get(*, organisation: Organisation, attachment_id: Any, staff: bool = False) -> Attachment:
    """An attachment of a request of the organisation, on a public message or the request itself (never
    one on an internal note, never a pending one of someone else); ``Attachment.DoesNotExist`` otherwise."""
    rows = Attachment.objects.filter(request__organisation=organisation)
    if not staff:
        rows = rows.exclude(message__kind=Message.Kind.INTERNAL_NOTE)
    return rows.get(pk=attachment_id)


def entitled_licences(*, organisation: Organisation, today: date | None = None) -> list[Licence]:
    """The organisation's licences whose support is active (SUP-1..3), for the new request's choice."""
    today = today or timezone.localdate()
    return list(
        Licence.objects.for_org(organisation)
        .filter(support_ends_on__gt=today, source__in=[Licence.Source.DIRECT, Licence.Source.REGISTERED])
        .select_related("product")
        .order_by("support_number")
    )


def ended_licences(
    *, organisation: Organisation, today: date | None = None, limit: int = 10
) -> list[Licence]:
    today = today or timezone.localdate()
    return list(
        Licence.objects.for_org(organisation)
        .filter(support_ends_on__lte=today)
        .select_related("product")
        .order_by("-support_ends_on")[:limit]
    )


def _when(moment: Any) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return formats.date_format(timezone.localtime(moment), "D j.m H:i")


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    if hours and minutes:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": minutes}


# The clock events said by their moment alone: clock_explanation's words for them (lazy translations, each
# with ``%(when)s``).
_CLOCK_SAID: dict[str, Any] = {
    SupportEvent.Kind.CLOCK_STARTED: gettext_lazy("Arrived %(when)s: the clock started."),
    SupportEvent.Kind.NO_CLOCK: gettext_lazy("Arrived %(when)s by e-mail: no guaranteed answer time."),
    SupportEvent.Kind.CLOCK_LEFT: gettext_lazy(
        "%(when)s: no guaranteed answer time (not covered by support, or closed)."
    ),
    SupportEvent.Kind.CLOCK_WARNED: gettext_lazy("%(when)s: 80 %% of the time used."),
    SupportEvent.Kind.CLOCK_BREACHED: gettext_lazy(
        "%(when)s: the time was exceeded; the request was escalated."
    ),
    SupportEvent.Kind.CLOCK_ANSWERED: gettext_lazy("%(when)s: first answer given."),
}


def clock_explanation(request: SupportRequest, *, events: list[SupportEvent] | None = None) -> list[str]:
    """The first-answer clock in words (SUP-8): each recorded clock event, how long the request waited for
    the customer, and the days that did not count, so the due time can be checked by hand. ``events``: the
    request's events in order, when the caller has read them already (its clock events are used)."""
    if events is None:
        events = list(request.events.filter(kind__in=SupportEvent.CLOCK_KINDS).order_by("at", "id"))
    else:
        events = [event for event in events if event.kind in SupportEvent.CLOCK_KINDS]
    lines: list[str] = []
    paused_at: datetime | None = None
    calendar = working_calendar(around=request.created_at)
    for event in events:
        kind = event.kind
        if kind in _CLOCK_SAID:
            lines.append(_CLOCK_SAID[kind] % {"when": _when(event.at)})
            if kind == SupportEvent.Kind.CLOCK_LEFT:
                paused_at = event.at  # closed before the first answer: the customer's reply opens it again
        elif kind == SupportEvent.Kind.CLOCK_PAUSED:
            paused_at = event.at
            lines.append(_("%(when)s: paused while waiting for you.") % {"when": _when(event.at)})
        elif kind == SupportEvent.Kind.CLOCK_RESUMED:
            waited = clock.working_seconds(paused_at, event.at, calendar) if paused_at else 0
            said = {"when": _when(event.at), "waited": _duration(waited)}
            if (event.data or {}).get("reopened"):
                text = _(
                    "%(when)s: you wrote again, the clock runs again (%(waited)s of working time since it "
                    "closed not counted)."
                )
            elif (event.data or {}).get("by") == "staff":
                text = _(
                    "%(when)s: the wait for you ended, the clock runs again (waited %(waited)s of working "
                    "time for you)."
                )
            else:
                text = _(
                    "%(when)s: you answered, the clock runs again (waited %(waited)s of working time for "
                    "you)."
                )
            lines.append(text % said)
            paused_at = None
    if request.due_at and request.sla_state == SupportRequest.Sla.RUNNING:
        skipped = clock.skipped_days(request.created_at, request.due_at, calendar)
        if skipped:
            names = ", ".join(
                formats.date_format(day, "D j.m") + ("" if why == "weekend" else f" ({why})")
                for day, why in skipped
            )
            lines.append(_("Not counted (weekends, holidays, closed days): %(days)s.") % {"days": names})
        lines.append(_("Due %(when)s: 72 hours of working time.") % {"when": _when(request.due_at)})
    return lines


# --- who sees which requests in the staff queue (SUP-12, VL-10) ------------------------------------------
SUPPORT_AGENTS = TEAM_GROUPS[Team.SUPPORT_AGENTS]
LICENSING_SPECIALISTS = TEAM_GROUPS[Team.LICENSING_SPECIALISTS]
# The kinds of request each staff group works on, from the team each kind goes to (``team_for``): the
# licensing specialists the ordering questions on volume licences (VL-10), the support agents the rest.
GROUP_KINDS: dict[str, frozenset[str]] = {
    group: frozenset(kind for kind in Kind.values if team_for(kind) == team)
    for team, group in TEAM_GROUPS.items()
}


def visible_kinds(user: Any) -> frozenset[str]:
    """The kinds of request ``user`` sees in the admin queue: every kind for a superuser, the kinds of the
    user's support groups for other staff, none for anyone else. One query, remembered on the user."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return frozenset()
    if user.is_superuser:
        return frozenset(Kind.values)
    cached = getattr(user, "_support_visible_kinds", None)
    if cached is None:
        names = user.groups.filter(name__in=list(GROUP_KINDS)).values_list("name", flat=True)
        cached = frozenset().union(*(GROUP_KINDS[name] for name in names))
        user._support_visible_kinds = cached
    return cached
