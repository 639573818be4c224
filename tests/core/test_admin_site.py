"""The portal's admin site (``core.admin_site``): Django's admin with the portal's titles, no navigation
sidebar, and the app list built only where a page shows it (each admin page used to build it for the
sidebar it does not show)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from core.admin_site import PortalAdminSite
from tests.factories import login_staff_with_mfa, make_user


def test_the_default_admin_site_is_the_portals():
    assert isinstance(admin.site, PortalAdminSite)
    assert admin.site.enable_nav_sidebar is False
    assert str(admin.site.site_header) == "Distributor portal administration"


@pytest.mark.django_db
def test_each_page_gets_the_app_list_unbuilt_and_the_index_still_lists_the_apps(client, monkeypatch):
    staff = make_user(None, email="lazy-admin@distributor.test", is_staff=True, is_superuser=True)
    built: list[str] = []
    original = admin.AdminSite._build_app_dict

    def counting(self, request, label=None):
        built.append(label or "all")
        return original(self, request, label)

    monkeypatch.setattr(admin.AdminSite, "_build_app_dict", counting)
    request = RequestFactory().get("/admin/")
    request.user = staff
    context = admin.site.each_context(request)
    assert built == []  # handed over, not built
    assert any(app["app_label"] == "support" for app in context["available_apps"])
    assert built == ["all"]
    login_staff_with_mfa(client, staff)
    built.clear()
    assert client.get(reverse("admin:support_supportrequest_changelist")).status_code == 200
    assert built == []  # a list page does not build the app list
    index = client.get(reverse("admin:index")).content.decode()
    assert built and reverse("admin:support_supportrequest_changelist") in index


@pytest.mark.django_db
def test_an_app_page_lists_its_models_and_an_unknown_app_is_not_found(client):
    """The app pages read the app list as a list (empty or not, its first app's name)."""
    staff = make_user(None, email="app-page@distributor.test", is_staff=True, is_superuser=True)
    login_staff_with_mfa(client, staff)
    page = client.get(reverse("admin:app_list", args=["support"]))
    assert page.status_code == 200
    assert reverse("admin:support_supportrequest_changelist") in page.content.decode()
    assert client.get("/admin/nosuchapp/").status_code == 404
