"""Issue #13, ESD-6: each line keeps the price it was placed at, and the invoice uses it, whatever the price
list says by the time the order is fulfilled; the order page shows those prices, the reference and what
happens next after a failure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from catalog.models import Product
from orders import invoice_pdf as invoice_pdf_module
from orders.errors import OrderError
from orders.models import Invoice, Order, OrderEvent, Totals, VendorRequest
from orders.services import LineIn, order_fulfil, order_place, order_quote, vendor_request_failed
from tests.factories import org_of, stock


def _price(product: Product, amount: str) -> None:
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal(amount))
    product.refresh_from_db()


def _place(reseller: Any, *lines: LineIn, reference: str = "") -> Order:
    return order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email="kept@end.test",
        reseller_reference=reference,
        lines=list(lines),
    )


@pytest.mark.django_db
def test_esd6_the_invoice_uses_the_price_kept_at_placement_not_todays(
    reseller: Any, product: Product, product2: Product
) -> None:
    """ESD-6: placed at 100.00 and 33.33, fulfilled after the price list went up: invoiced as placed."""
    _price(product, "100.00")
    _price(product2, "33.33")
    order = _place(reseller, LineIn(product.pk, 2), LineIn(product2.pk, 3), reference="PO-5")
    assert sorted(order.lines.values_list("unit_price", flat=True)) == [Decimal("33.33"), Decimal("100.00")]
    _price(product, "120.00")
    _price(product2, "40.00")
    stock(product, 2)
    stock(product2, 3)
    assert order_fulfil(order_id=order.pk).status == Order.Status.FULFILLED
    invoice = Invoice.objects.get(order=order)
    assert {line.sku: line.unit_price for line in invoice.lines.all()} == {
        "W81-PRO": Decimal("100.00"),
        "O2013-HB": Decimal("33.33"),
    }
    assert invoice.net_total == Decimal("299.99")
    assert invoice.vat_total == Decimal("69.00")  # 23 % of 299.99 = 68.9977
    assert invoice.gross_total == Decimal("368.99")
    placed = order.events.get(kind=OrderEvent.Kind.PLACED).data
    assert placed["reseller_reference"] == "PO-5"
    assert {line["sku"]: line["unit_price"] for line in placed["lines"]} == {
        "W81-PRO": "100.00",
        "O2013-HB": "33.33",
    }


@pytest.mark.django_db
def test_esd6_the_quote_totals_are_the_invoice_totals(
    reseller: Any, product: Product, product2: Product
) -> None:
    """ESD-6: what the confirmation step shows (``order_quote``) is what the invoice says, to the cent."""
    _price(product, "19.99")
    _price(product2, "0.05")
    lines = [LineIn(product.pk, 7), LineIn(product2.pk, 9)]
    quote = order_quote(reseller=org_of(reseller), end_customer_email="kept@end.test", lines=lines)
    assert not Order.objects.exists()
    stock(product, 7)
    stock(product2, 9)
    order = order_fulfil(order_id=_place(reseller, *lines).pk)
    invoice = Invoice.objects.get(order=order)
    assert (quote.totals.net, quote.totals.vat, quote.totals.gross) == (
        invoice.net_total,
        invoice.vat_total,
        invoice.gross_total,
    )
    assert quote.all_in_stock is False  # quoted before the stock arrived


@pytest.mark.django_db
def test_esd2_a_price_the_reseller_did_not_see_is_refused(reseller: Any, product: Product) -> None:
    """ESD-2, issue #13: placing with the price that was confirmed, after it changed, is refused."""
    _price(product, "50.00")
    with pytest.raises(OrderError) as refused:
        _place(reseller, LineIn(product.pk, 1, unit_price=Decimal("45.00")))
    assert refused.value.code == "price_changed" and "Windows 8.1 Pro" in str(refused.value.message)
    assert not Order.objects.exists()
    assert _place(reseller, LineIn(product.pk, 1, unit_price=Decimal("50.00"))).lines.get().unit_price == 50


@pytest.mark.django_db
def test_the_reference_is_stripped_and_checked(reseller: Any, product: Product) -> None:
    """Issue #13: the reseller's reference is stored stripped; longer than 64 characters or with control
    characters it is refused next to its field (ALL-2)."""
    assert _place(reseller, LineIn(product.pk, 1), reference="  PO 12  ").reseller_reference == "PO 12"
    for bad in ("X" * 65, "PO\x0712"):
        with pytest.raises(OrderError) as refused:
            _place(reseller, LineIn(product.pk, 1), reference=bad)
        assert refused.value.code == "invalid_reference" and refused.value.field == "reseller_reference"


@pytest.mark.django_db
def test_esd6_the_invoice_names_the_buyer_with_its_address_and_the_reference(
    reseller: Any, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ESD-6: the buyer on the invoice has its postal address and tax number; the PDF prints them and the
    reseller's reference."""
    org = org_of(reseller)
    org.tax_id, org.street, org.postcode, org.city, org.country = (
        "PL123",
        "ul. Długa 5",
        "00-238",
        "Warszawa",
        "Poland",
    )
    org.save()
    _price(product, "10.00")
    stock(product, 1)
    order = order_fulfil(order_id=_place(reseller, LineIn(product.pk, 1), reference="PO <&> 7").pk)
    invoice = Invoice.objects.select_related("order").get(order=order)
    assert invoice.buyer == {
        "name": org.name,
        "tax_id": "PL123",
        "address": "ul. Długa 5, 00-238 Warszawa, Poland",
    }

    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    drawn: list[str] = []

    def texts(flowable: Any) -> None:
        if isinstance(flowable, Paragraph):
            drawn.append(flowable.text)
        elif isinstance(flowable, Table):
            for row in flowable._cellvalues:
                for cell in row:
                    texts(cell) if not isinstance(cell, str) else drawn.append(cell)

    build = SimpleDocTemplate.build

    def spy(self: Any, story: list[Any], *args: Any, **kwargs: Any) -> Any:
        for flowable in story:
            texts(flowable)
        return build(self, story, *args, **kwargs)

    monkeypatch.setattr(SimpleDocTemplate, "build", spy)
    assert invoice_pdf_module.invoice_pdf(invoice).startswith(b"%PDF")
    text = "\n".join(drawn)
    assert "ul. Długa 5, 00-238 Warszawa, Poland" in text and "PL123" in text
    assert "Your reference: PO &lt;&amp;&gt; 7" in text and "10.00 EUR" in text


@pytest.mark.django_db
def test_the_order_page_shows_kept_prices_totals_and_the_reference(
    client: Any, reseller: Any, product: Product
) -> None:
    """Issue #13: unit prices, line totals, net/VAT/gross and the reference on the order page, at the kept
    prices even after the price list changed."""
    _price(product, "100.00")
    order = _place(reseller, LineIn(product.pk, 3), reference="PO-42")
    _price(product, "999.00")
    client.force_login(reseller)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'id="reseller-reference">PO-42<' in page
    assert "100.00 EUR" in page and "300.00 EUR" in page and "999.00" not in page
    totals = page.split('id="order-totals"')[1].split("</dl>")[0]
    assert "300.00 EUR" in totals and "69.00 EUR" in totals and "369.00 EUR" in totals


@pytest.mark.django_db
def test_a_failed_vendor_request_says_what_happens_next(client: Any, reseller: Any, product: Product) -> None:
    """ESD-5: "Vendor request failed" in the history says what happens next, as do the other events that
    hold an order up."""
    order = order_fulfil(order_id=_place(reseller, LineIn(product.pk, 2)).pk)
    assert order.status == Order.Status.AWAITING_STOCK
    request = VendorRequest.objects.get(order=order)
    vendor_request_failed(request=request, reason="timeout")
    client.force_login(reseller)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'data-event-kind="vendor_failed"' in page and "staff have been alerted" in page
    assert 'data-event-kind="awaiting_stock"' in page and "completes by itself" in page
    assert OrderEvent(kind=OrderEvent.Kind.FULFILLED).next_step == ""
    assert all(
        OrderEvent(kind=kind).next_step
        for kind in (
            OrderEvent.Kind.VENDOR_FAILED,
            OrderEvent.Kind.WELCOME_MAIL_FAILED,
            OrderEvent.Kind.CORRECTION_REFUSED,
        )
    )


def test_totals_round_like_the_invoice() -> None:
    """ESD-6: each line to the cent, then the VAT of the sum, half up."""
    totals = Totals.of([Decimal("0.005"), Decimal("10")], vat_percent=Decimal("23"), currency="EUR")
    assert (totals.net, totals.vat, totals.gross) == (Decimal("10.01"), Decimal("2.30"), Decimal("12.31"))


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_lines_the_products_current_price() -> None:
    """Issue #13: lines of orders placed before 0009 get their product's price of the day of migration."""
    executor = MigrationExecutor(connection)
    before = [
        ("orders", "0008_order_links_and_customer_steps"),
        ("accounts", "0003_memberships_per_organisation"),
    ]
    try:
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        org = apps.get_model("accounts", "Organisation").objects.create(name="Old", kind="reseller")
        user = apps.get_model("accounts", "User").objects.create(email="old@reseller.test")
        product = apps.get_model("catalog", "Product").objects.create(
            sku="OLD-1", name="Old", vendor="V", esd_eligible=True, unit_price=Decimal("12.34")
        )
        order = apps.get_model("orders", "Order").objects.create(
            reseller=org, placed_by=user, end_customer_email="old@end.test"
        )
        apps.get_model("orders", "OrderLine").objects.create(order=order, product=product, quantity=2)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    from orders.models import OrderLine

    line = OrderLine.objects.get(order_id=order.pk)
    assert line.unit_price == Decimal("12.34") and Order.objects.get(pk=order.pk).reseller_reference == ""
