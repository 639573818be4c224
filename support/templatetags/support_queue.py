"""``{% support_queue cl %}``: the rows of the staff queue (SUP-12) from one template, in place of the
admin's generic ``result_list``, which renders every cell through ``lookup_field`` and ``display_for_field``.
The headers (sorting links) and the action checkboxes are the admin's own, so sorting and the bulk actions
work as on any changelist.

The rows are a Jinja2 template (``jinja/support/_queue.html``, ``core.rows``): in Django's template
language the 25 rows cost more than the rest of the admin's page (bench/README.md). Labels are translated,
and the change address reversed, once per page."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers
from django.template.defaultfilters import yesno
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from core.rows import render_rows

from ..models import SupportRequest
from ..triage import time_left

register = template.Library()

_LABELLED = ("kind", "channel", "status", "priority")
_ANY_ID = 999_999_999_999


@register.simple_tag
def support_queue(cl: Any) -> SafeString | str:
    if not cl.result_list:
        return ""
    # A header's text is a label, or the admin's select-all checkbox (safe HTML, kept as it is).
    headers: list[dict[str, Any]] = [
        {**h, "text": h["text"] if isinstance(h["text"], SafeString) else capfirst(str(h["text"]))}
        for h in result_headers(cl)
    ]
    now = timezone.now()
    # The labels of each field's choices once per page (``get_FOO_display`` rebuilds them for every call).
    choices = {name: {value: str(label) for value, label in _field(name).flatchoices} for name in _LABELLED}
    change_url = reverse("admin:support_supportrequest_change", args=[_ANY_ID])
    select = _("Select %(number)s")
    rows = [
        {
            "pk": r.pk,
            "number": r.number,
            "url": change_url.replace(str(_ANY_ID), str(r.pk)),
            "select_label": select % {"number": r.number},
            "organisation": r.organisation.name,
            "subject": r.subject,
            **{name: choices[name].get(getattr(r, name), getattr(r, name)) for name in _LABELLED},
            "covered": r.covered,
            "time_left": time_left(r, now=now),
            "assignee": r.assignee.email if r.assignee_id else "-",
        }
        for r in cl.result_list
    ]
    labels = {
        "remove_sorting": _("Remove from sorting"),
        "toggle_sorting": _("Toggle sorting"),
        "yes": yesno(True),
        "no": yesno(False),
    }
    return render_rows(
        "support/_queue.html",
        {
            "headers": headers,
            "sorted_fields": sum(1 for h in headers if h["sortable"] and h["sort_priority"] > 0),
            "rows": rows,
            "labels": labels,
            "icons": {"yes": static("admin/img/icon-yes.svg"), "no": static("admin/img/icon-no.svg")},
        },
    )


def _field(name: str) -> Any:
    return SupportRequest._meta.get_field(name)
