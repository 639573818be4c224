"""Issue #13: the demo looks real: priced products, billing addresses on the invoices, and orders in every
state a reseller meets; run twice, it changes nothing (ESD-5, ESD-6, ESD-7, ESD-10, ESD-12)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Organisation, User
from catalog.models import Product
from locker.models import ProductKey, RevealEvent
from orders.models import Invoice, Order, OrderEvent, OrderLine, StaffAlert, VendorRequest


def _snapshot() -> dict[str, Any]:
    return {
        "orders": sorted(
            Order.objects.values_list("pk", "reseller_reference", "status", "welcome_mail_status")
        ),
        "lines": sorted(OrderLine.objects.values_list("pk", "unit_price", "quantity")),
        "events": OrderEvent.objects.count(),
        "invoices": sorted(Invoice.objects.values_list("number", "gross_total")),
        "keys": ProductKey.objects.count(),
        "available": ProductKey.objects.available().count(),
        "reveals": RevealEvent.objects.count(),
        "alerts": StaffAlert.objects.count(),
        "vendor_requests": sorted(VendorRequest.objects.values_list("pk", "status")),
        "users": User.objects.count(),
    }


@pytest.mark.django_db
def test_esd5_esd6_esd10_esd12_the_demo_has_an_order_in_every_state_and_is_idempotent() -> None:
    out = StringIO()
    call_command("seed_demo", "--stock", "3", stdout=out)
    first = _snapshot()
    call_command("seed_demo", "--stock", "3", stdout=StringIO())
    assert _snapshot() == first

    assert not Product.objects.filter(unit_price=0).exists()
    orders = {o.reseller_reference: o for o in Order.objects.select_related("reseller")}
    demo = {ref: o for ref, o in orders.items() if o.reseller.name == "Demo Reseller"}
    assert len(demo) == 5 and len(orders) == 6

    opened = demo["PO-2026-0141"]
    assert opened.status == Order.Status.FULFILLED and opened.keys_accessed_at is not None
    assert opened.welcome_mail_status == Order.MailStatus.SENT and opened.customer_password_set_at
    sent = demo["PO-2026-0142"]
    assert sent.welcome_mail_status == Order.MailStatus.SENT and sent.keys_accessed_at is None
    failed = demo["PO-2026-0143"]
    assert failed.status == Order.Status.FULFILLED and failed.welcome_mail_status == Order.MailStatus.FAILED
    assert failed.welcome_mail_error
    waiting = demo["PO-2026-0144"]
    assert waiting.status == Order.Status.AWAITING_STOCK
    assert waiting.events.filter(kind=OrderEvent.Kind.VENDOR_FAILED).exists()
    cancelled = demo["PO-2026-0145"]
    assert cancelled.status == Order.Status.CANCELLED and cancelled.cancelled_at

    # ESD-6: an invoice for each fulfilled order, with the demo prices and the buyer's address.
    invoices = Invoice.objects.filter(order__reseller__name="Demo Reseller")
    assert invoices.count() == 3 and all(i.gross_total > 0 for i in invoices)
    buyer = invoices.first().buyer
    assert buyer["address"] == "ul. Półwiejska 32, 61-888 Poznań, Poland" and buyer["tax_id"]
    assert Organisation.objects.get(name="Other Reseller").postal_address.endswith("Berlin, Germany")

    # The demo customer signs in to the locker with the demo password; the output names no key (ESD-7).
    assert User.objects.get(email="ewa.zielinska@customer.test").check_password("demo-pass-2026")
    text = out.getvalue()
    assert "PO-2026-0144" in text and "awaiting stock" in text
    assert not re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", text)
    assert ProductKey.objects.available().filter(product__sku="W81").count() == 3


@pytest.mark.django_db
def test_cc6_the_demo_has_a_customer_with_an_administrator_and_a_downloads_only_colleague() -> None:
    out = StringIO()
    call_command("seed_demo", "--stock", "1", stdout=out)
    call_command("seed_demo", "--stock", "1", stdout=StringIO())  # idempotent: the same people, once
    from accounts.models import Membership

    customer = Organisation.objects.get(name="Demo Customer")
    assert customer.kind == Organisation.Kind.CUSTOMER and customer.customer_id and customer.tax_id_normalised
    people = {
        m.user.email: m for m in Membership.objects.filter(organisation=customer).select_related("user")
    }
    assert set(people) == {"customer@demo.test", "colleague@demo.test"}
    assert people["customer@demo.test"].role == Membership.Role.ADMIN
    assert people["colleague@demo.test"].rights == {Membership.Right.DOWNLOADS.value}
    printed = out.getvalue()
    assert customer.customer_id in printed and customer.tax_id in printed


@pytest.mark.django_db
def test_cc1_sup2_the_demo_customer_has_licences_in_and_out_of_support_once() -> None:
    """CC-1, SUP-2: Demo Customer holds three licences (one in support, one whose support ended), booked
    once however often the command runs; their numbers are sealed, made at random, never in a file."""
    from centre.models import Licence

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    customer = Organisation.objects.get(name="Demo Customer")
    licences = list(Licence.objects.for_org(customer).order_by("support_number"))
    assert [licence.support_number for licence in licences] == [
        "S-DEMO-000001",
        "S-DEMO-000002",
        "S-DEMO-000003",
    ]
    today = timezone.localdate()
    assert [licence.support_active(today) for licence in licences] == [True, False, True]


def _support_snapshot() -> dict[str, Any]:
    from centre.models import IssuedNumber
    from support.models import Message, RequestCredential, SupportEvent, SupportRequest

    return {
        "requests": sorted(
            SupportRequest.objects.values_list("pk", "number", "status", "sla_state", "due_at", "assignee")
        ),
        "messages": Message.objects.count(),
        "events": SupportEvent.objects.count(),
        "credentials": RequestCredential.objects.count(),
        "issued": sorted(IssuedNumber.objects.values_list("pk", "number_fingerprint", "support_number")),
        "groups": sorted(User.objects.filter(groups__isnull=False).values_list("email", "groups__name")),
        "users": User.objects.count(),
    }


@pytest.mark.django_db
def test_sup6_sup8_sup12_vl10_cc10_the_demo_has_a_support_desk_and_an_issued_number_once() -> None:
    """SUP-6/SUP-8/SUP-12/VL-10: the demo's staff sit in the desk's groups (support@ with the support
    agents, licensing@ with the licensing specialists) and Demo Customer has requests open in SLA, waiting
    for it, answered (a public reply and an internal note) and a pre-sales question; Demo Reseller an
    ordering question on volume licences for the specialists. CC-10: one issued number naming Demo
    Customer, stored through the import, registrable by it. Run twice, nothing changes; the output names
    the requests' numbers but never the installation number (LOCK-1)."""
    from centre.models import IssuedNumber
    from centre.services.product_registration import product_register
    from locker import vault
    from support.models import Kind, Message, SupportRequest, Team
    from support.selectors import visible_kinds

    out = StringIO()
    call_command("seed_demo", "--stock", "1", stdout=out)
    first = _support_snapshot()
    call_command("seed_demo", "--stock", "1", stdout=StringIO())
    assert _support_snapshot() == first

    agent, specialist = (
        User.objects.get(email="support@demo.test"),
        User.objects.get(email="licensing@demo.test"),
    )
    assert agent.is_staff and specialist.is_staff and not specialist.is_superuser
    assert Kind.SUPPORT in visible_kinds(agent) and visible_kinds(specialist) == {Kind.VOLUME_ORDERING}
    assert specialist.check_password("demo-pass-2026")

    customer = Organisation.objects.get(name="Demo Customer")
    mine = {r.subject: r for r in SupportRequest.objects.for_org(customer)}
    by_state = {(r.kind, r.status, r.sla_state) for r in mine.values()}
    assert (Kind.SUPPORT, "open", SupportRequest.Sla.RUNNING) in by_state
    assert (Kind.SUPPORT, "waiting", SupportRequest.Sla.PAUSED) in by_state
    assert (Kind.SUPPORT, "answered", SupportRequest.Sla.ANSWERED) in by_state
    assert any(kind == Kind.PRE_SALES for kind, _s, _c in by_state)
    answered = next(r for r in mine.values() if r.status == "answered")
    kinds = set(answered.messages.values_list("kind", flat=True))
    assert {Message.Kind.PUBLIC_REPLY, Message.Kind.INTERNAL_NOTE} <= kinds
    volume = SupportRequest.objects.get(organisation__name="Demo Reseller", kind=Kind.VOLUME_ORDERING)
    assert volume.team == Team.LICENSING_SPECIALISTS

    text = out.getvalue()
    for request in [*mine.values(), volume]:
        assert request.number in text
    issued = IssuedNumber.objects.get()
    assert issued.customer_id == customer.pk and issued.licence_id is None and issued.product.sku == "CS-PRO"
    assert "/centre/licences/register/" in text
    number = vault.open_from(issued, IssuedNumber.SEAL_KIND)
    assert number not in text
    registered = product_register(
        organisation=customer,
        customer_id=customer.customer_id,
        installation_number=number,
        actor=User.objects.get(email="customer@demo.test"),
    )
    assert not registered.already and registered.licence.support_number == issued.support_number
    call_command("seed_demo", "--stock", "1", stdout=StringIO())  # a registered number is not issued again
    assert IssuedNumber.objects.count() == 1
