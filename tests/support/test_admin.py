"""The minimal staff desk in the admin (first increment): staff answer publicly (stops the clock, the
customer reads it) or with an internal note (never shown), move the status, add closed days, and move an
entitlement's binding (SUP-5, recorded)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from support.models import BindingEvent, EntitlementBinding, Kind, Message, SupportRequest
from support.services.requests import request_file


def filed(customer, member, licence):
    return request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category="technical_advice",
        subject="Error",
        body="Broken",
    )


@pytest.mark.django_db
def test_sup8_staff_internal_note_then_public_reply_in_the_admin(
    staff_client, customer, member, licence, staff
):
    """SUP-8: an internal note leaves the clock running; a public reply stops it and moves the request to
    answered; the customer's page shows only the reply."""
    request = filed(customer, member, licence)
    url = reverse("admin:support_supportrequest_change", args=[request.pk])
    page = staff_client.get(url)
    assert page.status_code == 200 and request.number in page.content.decode()
    response = staff_client.post(
        url, {"assignee": "", "reply": "Customer sounds upset", "internal": "on", "new_status": ""}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.sla_state == SupportRequest.Sla.RUNNING
    assert request.messages.filter(kind=Message.Kind.INTERNAL_NOTE, author=staff).exists()
    staff_client.post(url, {"assignee": staff.pk, "reply": "Clear the cache, please.", "new_status": ""})
    request.refresh_from_db()
    assert (
        request.sla_state == SupportRequest.Sla.ANSWERED and request.status == SupportRequest.Status.ANSWERED
    )
    assert request.assignee == staff
    listing = staff_client.get(reverse("admin:support_supportrequest_changelist"))
    assert listing.status_code == 200 and request.number in listing.content.decode()
    staff_client.force_login(member)
    html = staff_client.get(reverse("support:detail", args=[request.pk])).content.decode()
    assert "Clear the cache, please." in html and "Customer sounds upset" not in html


@pytest.mark.django_db
def test_sup8_staff_set_waiting_for_the_customer_which_pauses_the_clock(
    staff_client, customer, member, licence
):
    request = filed(customer, member, licence)
    url = reverse("admin:support_supportrequest_change", args=[request.pk])
    staff_client.post(url, {"assignee": "", "reply": "", "new_status": "waiting"})
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.WAITING and request.sla_state == SupportRequest.Sla.PAUSED


@pytest.mark.django_db
def test_sup5_staff_move_a_binding_in_the_admin_recorded(staff_client, customer, member, licence, staff):
    filed(customer, member, licence)
    binding = EntitlementBinding.objects.get()
    url = reverse("admin:support_entitlementbinding_change", args=[binding.pk])
    assert staff_client.get(url).status_code == 200
    staff_client.post(url, {"new_host": "https://www.moved-shop.test"})
    binding.refresh_from_db()
    assert binding.host == "moved-shop.test" and binding.bound_by == staff
    assert BindingEvent.objects.filter(binding=binding, kind=BindingEvent.Kind.REBOUND, actor=staff).exists()


@pytest.mark.django_db
def test_sup8_staff_add_a_closed_day(staff_client):
    response = staff_client.post(
        reverse("admin:support_closedday_add"), {"day": "2026-12-31", "reason": "Stocktaking"}
    )
    assert response.status_code == 302
    assert staff_client.get(reverse("admin:support_closedday_changelist")).status_code == 200
