"""The admin of web-form requests held until their address is confirmed (SUP-6, SUP-7): read-only, for
the support agents. Registered from ``support.admin``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from .admin_filters import HeldStateFilter, held_until
from .models import HeldWebRequest, Kind
from .selectors import visible_kinds


@admin.register(HeldWebRequest)
class HeldWebRequestAdmin(ReadOnlyAdmin):
    """Web-form requests held until their address is confirmed from a mail (SUP-6, SUP-7): not in the queue
    and without a number yet; read-only (the confirmation link files one, the periodic sweep drops the
    lapsed ones). Support agents see them as they see the queue's support requests. The support number
    typed is a plain column of the model (not sealed), shown on the record's page only."""

    list_display = [
        "created_at",
        "state_shown",
        "email",
        "kind",
        "subject",
        "lapses_at",
        "mailed",
        "filed_as",
    ]
    list_filter = [HeldStateFilter, "kind"]
    search_fields = ["email"]
    list_select_related = ["request"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    fields = readonly_fields = (
        "state_shown",
        "email",
        "kind",
        "support_number",
        "url",
        "category",
        "subject",
        "body",
        "refusal",
        "filed_as",
        "created_at",
        "lapses_at",
        "confirmed_at",
        "mailed",
        "mail_error",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        rows = super().get_queryset(request)
        if request.resolver_match is not None and (request.resolver_match.url_name or "").endswith(
            "_changelist"
        ):
            rows = rows.defer("body", "url", "refusal", "mail_error")
        return rows

    def _desk(self, request: HttpRequest) -> bool:
        return Kind.SUPPORT in visible_kinds(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._desk(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self._desk(request)

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, obj: HeldWebRequest) -> str:
        if obj.state == HeldWebRequest.State.HELD and held_until(obj.created_at) <= timezone.now():
            return str(_("Lapsed (not confirmed in time)"))
        return obj.get_state_display()

    @admin.display(description=_("held until"))
    def lapses_at(self, obj: HeldWebRequest) -> Any:
        if obj.state != HeldWebRequest.State.HELD:
            return "—"
        return held_until(obj.created_at)

    @admin.display(description=_("confirmation link mailed"), boolean=True)
    def mailed(self, obj: HeldWebRequest) -> bool:
        return obj.mail_sent_at is not None

    @admin.display(description=_("filed as"))
    def filed_as(self, obj: HeldWebRequest) -> str:
        return obj.request.number if obj.request_id and obj.request else "—"
