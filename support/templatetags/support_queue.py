"""``{% support_queue cl %}``: the rows of the staff queue (SUP-12) from one template, in place of the
admin's generic ``result_list``, which renders every cell through ``lookup_field`` and ``display_for_field``.
The headers (sorting links) and the action checkboxes are the admin's own, so sorting and the bulk actions
work as on any changelist."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers
from django.utils import timezone

from ..models import SupportRequest
from ..triage import time_left

register = template.Library()


@register.inclusion_tag("admin/support/supportrequest/_queue.html")
def support_queue(cl: Any) -> dict[str, Any]:
    headers: list[dict[str, Any]] = list(result_headers(cl))
    now = timezone.now()
    # The labels of each field's choices once per page (``get_FOO_display`` rebuilds them for every call).
    labels = {name: dict(_field(name).flatchoices) for name in _LABELLED}
    return {
        "cl": cl,
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sort_priority"] > 0),
        "rows": [
            {
                "request": r,
                **{name: labels[name].get(getattr(r, name), getattr(r, name)) for name in _LABELLED},
                "time_left": time_left(r, now=now),
            }
            for r in cl.result_list
        ],
    }


_LABELLED = ("kind", "channel", "status", "priority")


def _field(name: str) -> Any:
    return SupportRequest._meta.get_field(name)
