"""The pieces of the staff queue in the admin (SUP-12): a paginator that never counts the whole table, the
queue's filters (assignee with "mine" and "unassigned", product, SLA) and the time left to the first
answer in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from catalog.models import Product

from .models import Attachment, Message, SupportRequest
from .selectors import clock_explanation, visible_kinds

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows (``SELECT COUNT(*) FROM (… LIMIT n)``): at 100,000 requests
    the queue's page costs what a page costs, not what the table costs. Beyond the cap the last pages are
    reached through the filters."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        rows: Any = self.object_list
        return int(rows[: COUNT_CAP + 1].count())


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


class AssigneeFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assignee"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("email").only("pk", "email")[:100]
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
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class ProductFilter(admin.SimpleListFilter):
    title = gettext_lazy("product")
    parameter_name = "product"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        rows = Product.objects.order_by("name", "pk").only("pk", "name", "sku")[:200]
        return [(str(p.pk), f"{p.name} ({p.sku})") for p in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(licence__product_id=int(value))
        return queryset


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


class AssignForm(forms.Form):
    """The staff member the chosen requests go to (the "assign to…" action's intermediate page)."""

    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assign to"),
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("email"),
    )


# --- the request's page in the admin: conversation, files, history ---------------------------------------
_MESSAGE_STYLE: dict[str, str] = {
    # Internal notes stand apart from what the customer reads (SUP-12).
    "internal_note": "border-left:4px solid #c77c02;background:#fff7e6;padding:6px 10px;margin:6px 0",
    "public_reply": "border-left:4px solid #417690;padding:6px 10px;margin:6px 0",
}
_DEFAULT_STYLE = "border-left:4px solid #ccc;padding:6px 10px;margin:6px 0"


def conversation_html(request: SupportRequest) -> str:
    rows = (
        request.messages.select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "id")
    )
    parts = []
    for message in rows:
        label = message.get_kind_display()
        if message.kind == Message.Kind.INTERNAL_NOTE:
            label = _("Internal note — never shown or mailed to the customer")
        elif message.kind == Message.Kind.PUBLIC_REPLY:
            label = _("Public reply — shown and mailed to the customer")
        files = format_html_join(
            ", ",
            '<a href="{}" download>{}</a> ({})',
            (
                (
                    reverse("admin:support_supportrequest_attachment", args=[a.pk]),
                    a.name,
                    filesizeformat(a.size),
                )
                for a in message.attachments.all()
            ),
        )
        parts.append(
            format_html(
                '<div class="support-message support-message--{}" style="{}">'
                "<p><strong>{}</strong> · {} · {}</p><p>{}</p>{}</div>",
                message.kind,
                _MESSAGE_STYLE.get(str(message.kind), _DEFAULT_STYLE),
                label,
                message.author.email if message.author else "—",
                timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M"),
                linebreaksbr(message.body),
                format_html("<p>{}: {}</p>", _("Files"), files) if files else "",
            )
        )
    return mark_safe("".join(parts)) or "—"  # noqa: S308 (every part built by format_html)


def history_html(request: SupportRequest) -> str:
    rows = request.events.select_related("actor").order_by("at", "id")
    events = format_html_join(
        "",
        "<li>{} · {} · {}{}</li>",
        (
            (
                timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
                e.get_kind_display(),
                e.actor.email if e.actor else _("system"),
                _event_detail(e),
            )
            for e in rows
        ),
    )
    explanation = format_html_join("", "<li>{}</li>", ((line,) for line in clock_explanation(request)))
    return format_html(
        "<ul>{}</ul><p><strong>{}</strong></p><ul>{}</ul>",
        events or "—",
        _("The first-answer clock explained"),
        explanation or "—",
    )


def _event_detail(event: Any) -> str:
    data = event.data or {}
    if "from" in data or "to" in data:
        return f" ({data.get('from') or '—'} → {data.get('to') or '—'})"
    if "channel" in data:
        return f" ({data['channel']})"
    return ""


def staff_attachment(*, user: Any, attachment_id: Any) -> Attachment | None:
    """A request's file for a staff member who sees the request's kind (``visible_kinds``), else None."""
    kinds = visible_kinds(user)
    if not kinds:
        return None
    return Attachment.objects.filter(pk=attachment_id, request__kind__in=sorted(kinds)).first()
