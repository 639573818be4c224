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


@pytest.mark.django_db
def test_all2_a_selected_row_that_is_no_id_of_that_model_a_year_9999_or_a_day_before_1900_is_a_400(client):
    """ALL-2, the second fuzz: a selected row must be an id of the list's own model (a UUID on a list of
    whole-number ids, a number on a list of UUIDs), the drill-down's year 9999 has no end, and a date
    before 1900 (before the year 1 in UTC, PostgreSQL stores it and no page can read the row back)."""
    from datetime import date

    from centre.models import NewsItem
    from support.models import ClosedDay

    staff = make_user(None, email="second-fuzz@distributor.test", is_staff=True, is_superuser=True)
    login_staff_with_mfa(client, staff)
    closed = ClosedDay.objects.create(day=date(2026, 12, 24), reason="Christmas Eve")
    closed_days = reverse("admin:support_closedday_changelist")
    deliveries = reverse("admin:webhooks_webhookdelivery_changelist")
    for url, odd in [
        (closed_days, "00000000-0000-0000-0000-000000000000"),
        (closed_days, "abc"),
        (deliveries, "1" + "0" * 25),
    ]:
        response = client.post(url, {"action": "delete_selected", "_selected_action": [odd], "index": "0"})
        assert response.status_code == 400, (url, odd)
    for query in ({"day__year": "9999"}, {"day__year": "9999", "day__month": "12"}):
        assert client.get(closed_days, query).status_code == 400
    assert client.get(closed_days, {"day__year": "2026"}).status_code == 200
    # A row's own id still selects it (the action's confirmation page).
    confirm = client.post(closed_days, {"action": "delete_selected", "_selected_action": [closed.pk]})
    assert confirm.status_code == 200 and "Delete multiple objects" in confirm.content.decode()
    assert ClosedDay.objects.filter(pk=closed.pk).exists()
    before = client.post(
        reverse("admin:centre_newsitem_add"),
        {"title": "Old", "body": "x", "published_at_0": "0001-01-01", "published_at_1": "00:00:00"},
    )
    assert before.status_code == 400 and not NewsItem.objects.exists()


@pytest.mark.django_db
def test_the_admin_of_user_sessions_never_shows_a_session_key_and_searches_by_address(client):
    """allauth's user sessions in the admin: the session key is the session (whoever holds it is signed in
    as its user), so neither it nor the session's data is shown; the search reads the address (allauth's
    own admin searched a username the portal's accounts do not have: a server error for any text); a
    superuser ends a session, which signs its browser out."""
    from allauth.usersessions.models import UserSession
    from django.test import Client

    staff = make_user(None, email="sessions-admin@distributor.test", is_staff=True, is_superuser=True)
    person = make_user(None, email="signed-in@customer.test")
    browser = Client()
    browser.force_login(person)
    key = browser.session.session_key
    session = UserSession.objects.create(user=person, ip="192.0.2.7", user_agent="Browser/1", session_key=key)
    login_staff_with_mfa(client, staff)
    listing = client.get(reverse("admin:usersessions_usersession_changelist"), {"q": "signed-in@customer"})
    assert listing.status_code == 200 and "signed-in@customer.test" in listing.content.decode()
    page = client.get(reverse("admin:usersessions_usersession_change", args=[session.pk]))
    assert (
        page.status_code == 200 and key not in page.content.decode() and key not in listing.content.decode()
    )
    assert client.get(reverse("admin:usersessions_usersession_add")).status_code == 403
    ended = client.post(reverse("admin:usersessions_usersession_delete", args=[session.pk]), {"post": "yes"})
    assert ended.status_code == 302 and not UserSession.objects.filter(pk=session.pk).exists()
    assert browser.get("/accounts/sessions/").status_code == 302  # signed out: sent to the login page
