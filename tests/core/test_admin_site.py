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


@pytest.mark.django_db
def test_all2_input_no_admin_page_sends_is_a_400_not_a_server_error(client):
    """ALL-2, what a fuzz of every admin page found Django's admin answering with a server error: a NUL in
    a filter (PostgreSQL refuses it), an empty ``_to_field``, a selected row that is no id, a date part of
    26 digits. Each is a 400 now; the same pages with what they send themselves still answer."""
    from accounts.models import Organisation

    staff = make_user(None, email="odd-input@distributor.test", is_staff=True, is_superuser=True)
    login_staff_with_mfa(client, staff)
    organisation = Organisation.objects.create(name="Odd Ltd", kind=Organisation.Kind.CUSTOMER)
    queue = reverse("admin:support_supportrequest_changelist")
    organisations = reverse("admin:accounts_organisation_changelist")
    change = reverse("admin:accounts_organisation_change", args=[organisation.pk])
    refused = [
        client.get(queue, {"status__exact": "\x00"}),
        client.get(organisations, {"kind__exact": "a\x00b"}),
        client.get(change, {"_to_field": ""}),
        client.get(reverse("admin:catalog_release_changelist"), {"release_date__year": "1" + "0" * 25}),
        client.post(organisations, {"action": "delete_selected", "_selected_action": ["²"], "index": "0"}),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)
    assert client.get(queue, {"status__exact": "open"}).status_code == 200
    assert client.get(change).status_code == 200
    assert client.get(
        reverse("admin:catalog_release_changelist"), {"release_date__year": "2026"}
    ).status_code in (
        200,
        302,
    )
    Organisation.objects.get(pk=organisation.pk)  # nothing was deleted


@pytest.mark.django_db
def test_all2_a_membership_form_shown_again_with_an_organisation_that_is_no_id(client):
    """ALL-2: the membership form's organisation (an autocomplete field) posted as something that is no id
    shows the form again with the field's error; Django's widget looked the value up as it was (a 500)."""
    staff = make_user(None, email="autocomplete@distributor.test", is_staff=True, is_superuser=True)
    login_staff_with_mfa(client, staff)
    person = make_user(None, email="person@customer.test")
    for odd in ("²", " ", "9" * 5000, "1" + "0" * 25, "NaN"):
        response = client.post(
            reverse("admin:accounts_membership_add"),
            {"user": person.pk, "organisation": odd, "role": "member", "active": "on"},
        )
        assert response.status_code == 200, odd
        assert "organisation" in response.context["adminform"].form.errors, odd
