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
