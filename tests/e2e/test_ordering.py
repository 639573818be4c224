"""Issue #13 in Chromium: a reseller adds two lines, removes one, sees the running total, reviews, places the
order and finds the kept price and the reference on it; at 390 px the form does not scroll sideways (ALL-6)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Product
from orders.models import Order
from tests.factories import DEFAULT_PASSWORD, make_product, stock

from .helpers import ARTIFACTS, log_in

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_esd10_all6_order_with_running_total_confirmation_and_kept_price(
    stack: Any, page: Any, reseller: Any
) -> None:
    """ESD-10, ESD-2, ALL-6: two lines added, one removed, the total follows; the confirmation shows what is
    placed; the order keeps the price it was placed at even when the price list changes afterwards."""
    from playwright.sync_api import expect

    base = stack.url
    win = make_product("W81-PRO", name="Windows 8.1 Pro", unit_price=Decimal("129.00"))
    office = make_product(
        "O2013-HB", name="Office Home and Business 2013 for a rather long product name", unit_price="219.00"
    )
    stock(win, 3)
    ARTIFACTS.mkdir(exist_ok=True)

    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, reseller.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/orders/new/")
    lines = page.locator("#lines [data-line]:visible")
    expect(lines).to_have_count(1)
    expect(page.locator("#order-total")).to_be_hidden()
    page.fill("#id_end_customer_email", "anna.nowak@customer.test")
    page.fill("#id_end_customer_email_confirmation", "anna.nowak@customer.test")
    page.fill("#id_reseller_reference", "PO-2026/88")
    page.select_option("#id_lines-0-product", value=str(win.pk))
    page.fill("#id_lines-0-quantity", "2")

    page.get_by_role("button", name="Add another product").click()
    page.select_option("#id_lines-1-product", value=str(office.pk))
    page.get_by_role("button", name="Add another product").click()
    page.select_option("#id_lines-2-product", value=str(office.pk))
    page.fill("#id_lines-2-quantity", "3")
    expect(lines).to_have_count(3)
    total = page.locator("#order-total")
    expect(total.locator("[data-total=net]")).to_have_text("1,134.00 EUR")  # 2×129 + 219 + 3×219

    # The full name, price and availability show under the select: nothing is cut on a phone.
    info = lines.nth(1).locator("[data-line-info]")
    expect(info).to_have_text(
        re.compile(r"rather long product name \(O2013-HB\) · 219\.00 EUR net · will wait")
    )
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the new-order form scrolls sideways at 390 px"
    page.screenshot(path=str(ARTIFACTS / "ordering-1-form-390.png"), full_page=True)

    lines.nth(2).get_by_role("button", name="Remove").click()
    expect(lines).to_have_count(2)
    lines.nth(1).get_by_role("button", name="Remove").click()
    expect(lines).to_have_count(1)
    expect(total.locator("[data-total=net]")).to_have_text("258.00 EUR")
    expect(total.locator("[data-total=vat]")).to_have_text("59.34 EUR")
    expect(total.locator("[data-total=gross]")).to_have_text("317.34 EUR")
    expect(lines.first.locator("[data-line-total]")).to_have_text(re.compile(r"258\.00 EUR"))

    page.get_by_role("button", name="Review order").click()
    expect(page.locator("h1")).to_have_text("Check your order")
    expect(page.locator("#confirm-reference")).to_have_text("PO-2026/88")
    expect(page.locator("#confirm-lines tbody tr")).to_have_count(1)
    expect(page.locator("#confirm-totals [data-total=gross]")).to_have_text("317.34 EUR")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the confirmation scrolls sideways at 390 px"
    page.screenshot(path=str(ARTIFACTS / "ordering-2-confirm-390.png"), full_page=True)
    assert not Order.objects.exists()

    # "Change" keeps everything; then review again and place.
    page.get_by_role("button", name="Change").click()
    expect(page.locator("#id_reseller_reference")).to_have_value("PO-2026/88")
    expect(page.locator("#id_lines-0-quantity")).to_have_value("2")
    expect(page.locator("#lines [data-line]:visible")).to_have_count(1)
    page.get_by_role("button", name="Review order").click()
    page.get_by_role("button", name="Place order").click()

    expect(page.locator("#reseller-reference")).to_have_text("PO-2026/88")
    order = Order.objects.get()
    Product.objects.filter(pk=win.pk).update(unit_price=Decimal("999.00"))
    page.reload()
    expect(page.locator("#order-lines")).to_contain_text("129.00 EUR")
    expect(page.locator("#order-totals [data-total=gross]")).to_have_text("317.34 EUR")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the order page scrolls sideways at 390 px"
    page.screenshot(path=str(ARTIFACTS / "ordering-3-order-390.png"), full_page=True)
    assert order.reseller_reference == "PO-2026/88"
    assert order.lines.get().unit_price == Decimal("129.00")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "ordering-4-order-1280.png"), full_page=True)
    page.goto(f"{base}/orders/new/")
    page.select_option("#id_lines-0-product", value=str(office.pk))
    page.get_by_role("button", name="Add another product").click()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(ARTIFACTS / "ordering-5-form-1280.png"), full_page=True)
    page.goto(f"{base}/orders/invoices/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
