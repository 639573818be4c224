"""Django's admin app, with the portal's site (``core.admin_site.PortalAdminSite``) as ``admin.site``."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "core.admin_site.PortalAdminSite"
