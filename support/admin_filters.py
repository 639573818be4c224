"""List filters of the support desk's admin pages (SUP-12, VL-10), kept apart from ``support.admin`` so
the queue's own module stays as it is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import HeldWebRequest, Team, team_for
from .selectors import visible_kinds


def hold_age() -> timedelta:
    """How long a web-form request is held for its address to be confirmed (``SUPPORT_WEB_FORM_HOLD_DAYS``,
    as ``services.web_form`` counts it)."""
    return timedelta(days=int(settings.SUPPORT_WEB_FORM_HOLD_DAYS))


def held_until(created_at: datetime) -> datetime:
    """When a held web-form request lapses unless its address is confirmed."""
    return created_at + hold_age()


def visible_teams(user: Any) -> list[tuple[str, Any]]:
    """The teams whose requests ``user`` sees in the queue (from the kinds of its groups; no query once
    ``visible_kinds`` is remembered on the user)."""
    kinds = visible_kinds(user)
    return [(value, label) for value, label in Team.choices if any(team_for(k) == value for k in kinds)]


class TeamFilter(admin.SimpleListFilter):
    """The team a request went to (VL-10): offered only where the user sees more than one team's requests
    (a support agent sees one team and gets no filter); the ``(team, status)`` index serves it."""

    title = _("team")
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        teams = visible_teams(request.user)
        return teams if len(teams) > 1 else []

    def has_output(self) -> bool:
        return bool(self.lookup_choices)

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value in Team.values:
            return queryset.filter(team=value)
        return queryset


class HeldStateFilter(admin.SimpleListFilter):
    """A held web-form request's state, with the held ones past their hold (lapsed, swept away by the
    periodic task) apart from those still waiting."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (HeldWebRequest.State.HELD, _("Waiting for the address to be confirmed")),
            ("lapsed", _("Lapsed (not confirmed in time)")),
            (HeldWebRequest.State.FILED, _("Filed")),
            (HeldWebRequest.State.REFUSED, _("Refused")),
        ]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        limit = timezone.now() - hold_age()
        if value == HeldWebRequest.State.HELD:
            return queryset.filter(state=value, created_at__gte=limit)
        if value == "lapsed":
            return queryset.filter(state=HeldWebRequest.State.HELD, created_at__lt=limit)
        if value in (HeldWebRequest.State.FILED, HeldWebRequest.State.REFUSED):
            return queryset.filter(state=value)
        return queryset
