"""The pieces of the staff queue in the admin (SUP-12): a paginator that never counts the whole table, the
queue's filters (assignee with "mine" and "unassigned", product, SLA) and the time left to the first
answer in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import yesno
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from catalog.models import Product
from core.ids import id_or_none

from .models import Attachment, Message, SupportRequest
from .selectors import clock_explanation, visible_kinds

COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows (``SELECT COUNT(*) FROM (… LIMIT n)``, unordered): at 100,000
    requests the queue's page costs what a page costs, not what the table costs. Beyond the cap the queue
    says "more than 1,000" and the filters narrow it (40 pages of 25 are more than anyone pages through)."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        rows: Any = self.object_list
        return int(rows.order_by()[: COUNT_CAP + 1].count())

    @property
    def capped(self) -> bool:
        """More rows than were counted: the count shown is a floor."""
        return self.count > COUNT_CAP

    @property
    def cap(self) -> int:
        return COUNT_CAP


class QueueChangeList(ChangeList):
    """The queue reads what its rows show: each request with its organisation and assignee
    (``list_select_related``), not also the requester and licence the request page reads with it."""

    def apply_select_related(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        fields = self.list_select_related
        if isinstance(fields, list | tuple):
            return qs.select_related(None).select_related(*fields)
        return super().apply_select_related(qs)


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds)) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": minutes}


def time_left(request: SupportRequest, *, now: datetime | None = None) -> str:
    """The time left to the first answer (SUP-8, SUP-12), from ``due_at``: "5 h left", "breached 3 h ago",
    "paused", "no SLA", "answered"."""
    Sla = SupportRequest.Sla
    if request.sla_state == Sla.ANSWERED:
        return _("answered")
    if request.sla_state == Sla.PAUSED:
        return _("paused")
    if request.sla_state != Sla.RUNNING or request.due_at is None:
        return _("no SLA")
    left = (request.due_at - (now or timezone.now())).total_seconds()
    if left < 0:
        return _("breached %(time)s ago") % {"time": _duration(left)}
    return _("%(time)s left") % {"time": _duration(left)}


class _ByIdFilter(admin.SimpleListFilter):
    """A queue filter whose choices are rows of another table by id, ``id_field`` the request's field that
    holds it. A value that is not a number (a typo, an edited URL) narrows nothing, never an error (ALL-2)."""

    id_field = ""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        found = id_or_none(self.value())
        if found is not None:
            return queryset.filter(**{self.id_field: found})
        return queryset


class AssigneeFilter(_ByIdFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assignee"
    id_field = "assignee_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        staff = desk_staff().only("pk", "email")[:100]
        return [
            ("mine", gettext_lazy("Mine")),
            ("none", gettext_lazy("Unassigned")),
            *((str(user.pk), user.email) for user in staff),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "mine":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee=None)
        return super().queryset(request, queryset)


class ProductFilter(_ByIdFilter):
    title = gettext_lazy("product")
    parameter_name = "product"
    id_field = "licence__product_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        rows = Product.objects.order_by("name", "pk").only("pk", "name", "sku")[:200]
        return [(str(p.pk), f"{p.name} ({p.sku})") for p in rows]


class SlaFilter(admin.SimpleListFilter):
    title = gettext_lazy("first-answer clock")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            # xgettext:no-python-format
            ("due_soon", gettext_lazy("Due soon (80 % used)")),
            ("breached", gettext_lazy("Breached")),
            ("paused", gettext_lazy("Paused")),
            ("none", gettext_lazy("No SLA")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        Sla = SupportRequest.Sla
        value = self.value()
        if value == "due_soon":
            return queryset.filter(sla_state=Sla.RUNNING, sla_warned=True, sla_breached=False)
        if value == "breached":
            return queryset.filter(sla_breached=True)
        if value == "paused":
            return queryset.filter(sla_state=Sla.PAUSED)
        if value == "none":
            return queryset.filter(sla_state=Sla.NONE)
        return queryset


def desk_staff() -> QuerySet[User]:
    """Who requests can be assigned to: active staff, by e-mail."""
    return User.objects.filter(is_staff=True, is_active=True).order_by("email")


class AssignForm(forms.Form):
    """The staff member the chosen requests go to (the "assign to…" action's intermediate page)."""

    assignee = forms.ModelChoiceField(label=gettext_lazy("Assign to"), queryset=desk_staff())


# --- the request's page in the admin: conversation, files, history ---------------------------------------
SUMMARY_FIELDS = (
    "number",
    "organisation",
    "requester",
    "kind",
    "channel",
    "licence",
    "url",
    "host",
    "category",
    "covered",
    "not_covered",
    "subject",
    "status",
    "priority",
    "created_at",
    "sla_state",
    "due_at",
    "sla_warned",
    "sla_breached",
    "first_answered_at",
    "mail_sent_at",
)


def summary(request: SupportRequest) -> list[tuple[str, Any]]:
    """The request's facts as (label, value) rows for ``admin/support/supportrequest/_summary.html``, in one
    block rather than a read-only admin field each: choices by their labels, yes or no, local times."""
    rows: list[tuple[str, Any]] = []
    for name in SUMMARY_FIELDS:
        field: Any = SupportRequest._meta.get_field(name)
        value = getattr(request, name)
        if field.choices:
            value = getattr(request, f"get_{name}_display")()
        elif isinstance(value, bool):
            value = yesno(value)
        elif isinstance(value, datetime):
            value = formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
        rows.append((capfirst(field.verbose_name), "—" if value in (None, "") else value))
    return rows


def conversation(request: SupportRequest) -> list[Message]:
    """Every message, oldest first, with its author and files (two queries): the template
    ``admin/support/supportrequest/_conversation.html`` sets internal notes apart from what the customer
    reads (SUP-12)."""
    return list(
        request.messages.select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "id")
    )


def history(request: SupportRequest) -> dict[str, Any]:
    """Every recorded event (who, when, what; one query) and the first-answer clock explained in words from
    the same events (SUP-8), for ``admin/support/supportrequest/_history.html``."""
    events = list(request.events.select_related("actor").order_by("at", "id"))
    return {
        "events": [(event, _event_detail(event)) for event in events],
        "clock": clock_explanation(request, events=events),
    }


def _event_detail(event: Any) -> str:
    data = event.data or {}
    if "from" in data or "to" in data:
        return f"{data.get('from') or '—'} → {data.get('to') or '—'}"
    return str(data.get("channel", ""))


def staff_attachment(*, user: Any, attachment_id: Any) -> Attachment | None:
    """A request's file for a staff member who sees the request's kind (``visible_kinds``), else None."""
    kinds = visible_kinds(user)
    if not kinds:
        return None
    return Attachment.objects.filter(pk=attachment_id, request__kind__in=sorted(kinds)).first()
