"""The portal's admin site: Django's, with its titles, without the navigation sidebar (the lists need the
width: a key's columns were cut at 1280 px beside the app menu; Home and the breadcrumbs lead everywhere
the menu did), with the app list built only where a page shows it, and refusing with a 400 the input its
own pages never send, on which Django's admin would answer with a server error (ALL-2)."""

from __future__ import annotations

import re
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import BadRequest, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from .dates import parse_day
from .ids import id_or_none

# What the admin's pages send as a selected row (``_selected_action``): an integer or a UUID.
_ROW_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
# A date hierarchy's or a date filter's part (``release_date__year=2026``).
_DATE_PART = re.compile(r"[0-9]{1,4}")


def refuse_odd_admin_input(request: HttpRequest) -> None:
    """``BadRequest`` (a 400) for input no admin page sends and Django's admin does not refuse itself (each
    was a server error): a NUL character (PostgreSQL refuses it in text), an empty ``_to_field``, a selected
    row that is no id of the list's model, a drill-down date part that is not a year below 9999, a month or
    a day, and a day before 1900 typed into a form."""
    for key, values in (*request.GET.lists(), *request.POST.lists()):
        if "\x00" in key or any("\x00" in value for value in values):
            raise BadRequest("NUL in a parameter")
    if request.GET.get("_to_field", None) == "" or request.POST.get("_to_field", None) == "":
        raise BadRequest("empty _to_field")
    selected = request.POST.getlist("_selected_action")
    model_admin = getattr(getattr(request, "resolver_match", None), "func", None)
    model_admin = getattr(model_admin, "model_admin", None)
    if selected and model_admin is not None:
        pk = model_admin.model._meta.pk
        if not all(_ROW_ID.fullmatch(value) and _readable(pk, value) for value in selected):
            raise BadRequest("a selected row that is no id")
    for key, values in request.GET.lists():
        # The drill-down works out the end of the year, month or day asked for: 9999 has none.
        if key.endswith(("__year", "__month", "__day")) and any(
            not _DATE_PART.fullmatch(value) or int(value) >= 9999 for value in values
        ):
            raise BadRequest("a date part that is no date")
    for key, values in request.POST.lists():
        # A day before 1900 typed into a date (or a date and time) is no day anyone means here; before the
        # year 1 in UTC, PostgreSQL stores it and Python can no longer read the row back.
        if key != "csrfmiddlewaretoken" and any(_long_ago(value) for value in values):
            raise BadRequest("a day before 1900")


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, showing again only chosen values its field can read: Django's own
    looks every posted value up as it is, so a form shown again with a value that is no id (typed into the
    request) is a server error instead of the field's error (ALL-2)."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        target = self.field.target_field
        return super().optgroups(name, [v for v in value if _readable(target, v)], attr)


def _long_ago(value: str) -> bool:
    if not 6 <= len(value) <= 40:
        return False
    day = parse_day(value.split(" ")[0].split("T")[0])
    return day is not None and day.year < 1900


def _readable(field: Any, value: Any) -> bool:
    if isinstance(field, models.IntegerField):
        return value in (None, "") or id_or_none(value) is not None
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class PortalAdminSite(admin.AdminSite):
    site_header = _("Distributor portal administration")
    site_title = _("Distributor portal")
    enable_nav_sidebar = False

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> Any:
        """The apps and models the user may see, built when a template first reads it. ``each_context``
        hands it to every admin page for the sidebar, which this site does not show; the index and the
        app pages that list it read it as before."""
        build = super().get_app_list
        return SimpleLazyObject(lambda: build(request, app_label))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """Every admin page (Django's and the portal's own) behind ``refuse_odd_admin_input``."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refuse_odd_admin_input(request)
            return inner(request, *args, **kwargs)

        return guarded
