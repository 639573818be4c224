"""The portal's admin site: Django's, with its titles, without the navigation sidebar (the lists need the
width: a key's columns were cut at 1280 px beside the app menu; Home and the breadcrumbs lead everywhere
the menu did), and with the app list built only where a page shows it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _


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
