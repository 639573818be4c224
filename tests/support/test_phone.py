"""Phone intake (SUP-6): staff record a call in the admin as a request on the customer's behalf; it gets
its number (SUP-7) with channel phone, the same entitlement rules (SUP-1..5, staff may bind), its clock
(SUP-8), and the call is recorded with the staff member (ALL-3)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from support.models import Channel, EntitlementBinding, SupportEvent, SupportRequest
from tests.factories import login_staff_with_mfa, make_user

PHONE = reverse("admin:support_supportrequest_phone")


def call(licence, **extra):
    data = {
        "customer_id": "C-1",
        "person_email": "",
        "kind": "support",
        "support_number": licence.support_number,
        "url": "https://shop.acme.test",
        "category": "technical_advice",
        "subject": "Shop down",
        "body": "The caller says the checkout fails since this morning.",
    }
    data.update(extra)
    return data


@pytest.mark.django_db
def test_sup6_sup7_staff_record_a_phone_call_numbered_channel_phone_recorded(
    staff_client, staff, customer, member, licence
):
    """SUP-6/SUP-7/ALL-3: the call becomes a numbered request of the customer, channel phone, the clock
    running, the binding made (staff may bind, SUP-5), the call recorded with the staff member."""
    assert (
        "Record a phone call"
        in staff_client.get(reverse("admin:support_supportrequest_changelist")).content.decode()
    )
    assert staff_client.get(PHONE).status_code == 200
    response = staff_client.post(PHONE, call(licence, person_email=member.email))
    assert response.status_code == 302, response.content.decode()[:2000]
    request = SupportRequest.objects.get()
    assert re.fullmatch(r"SUP-\d{4}-\d+", request.number)
    assert (
        request.channel == Channel.PHONE and request.organisation == customer and request.requester == member
    )
    assert request.sla_state == SupportRequest.Sla.RUNNING and request.due_at is not None
    assert EntitlementBinding.objects.get(licence=licence).host == "shop.acme.test"
    assert SupportEvent.objects.filter(
        request=request, kind=SupportEvent.Kind.PHONE_CALL, actor=staff
    ).exists()
    assert response["Location"] == reverse("admin:support_supportrequest_change", args=[request.pk])
    assert request.messages.filter(body__startswith="The caller says").exists()


@pytest.mark.django_db
def test_sup6_sup4_phone_call_refused_by_field_and_kept(staff_client, customer, licence, other_customer):
    """SUP-6/SUP-4: a wrong support number, an unknown customer or a person of another customer is refused
    next to its field, what was typed kept, nothing filed."""
    outsider = make_user(other_customer, email="it@other.test")
    for data, field_text in (
        (call(licence, support_number="NOPE-123"), "NOPE-123"),
        (call(licence, customer_id="C-404"), "C-404"),
        (call(licence, person_email=outsider.email), outsider.email),
    ):
        page = staff_client.post(PHONE, data)
        html = page.content.decode()
        assert page.status_code == 200 and "errorlist" in html and field_text in html
        assert "The caller says the checkout fails" in html
    assert not SupportRequest.objects.exists()


@pytest.mark.django_db
def test_sup6_phone_call_without_a_person_and_a_pre_sales_question(staff_client, customer, licence):
    """SUP-6/SVC-6: a call with no person of the customer named, and a pre-sales call (no number, no URL)."""
    assert staff_client.post(PHONE, call(licence)).status_code == 302
    response = staff_client.post(
        PHONE, call(licence, kind="pre_sales", support_number="", url="", category="", subject="Prices")
    )
    assert response.status_code == 302
    assert list(SupportRequest.objects.order_by("pk").values_list("channel", "requester", "kind")) == [
        ("phone", None, "support"),
        ("phone", None, "pre_sales"),
    ]


@pytest.mark.django_db
def test_sup6_only_desk_staff_record_calls(client, customer, licence):
    """SUP-6: staff outside the support groups cannot record a call (403)."""
    clerk = make_user(None, email="clerk@distributor.test", is_staff=True)
    login_staff_with_mfa(client, clerk)
    assert client.get(PHONE).status_code == 403
    assert client.post(PHONE, call(licence)).status_code == 403
    assert not SupportRequest.objects.exists()
