"""The whole ESD journey as people do it, in Debian's Chromium, against a live server and a real worker."""

from __future__ import annotations

import re
from typing import Any

import pytest

from locker.models import ProductKey
from orders.models import Order
from tests.factories import DEFAULT_PASSWORD, make_product, stock

from .helpers import ARTIFACTS, CUSTOMER, NEW_PASSWORD, log_in, log_out, mail_text


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_esd_journey_in_the_browser(
    stack: Any, smtp_server: Any, page: Any, reseller: Any, width: int
) -> None:
    """ESD-2, ESD-3, ESD-7, ESD-8, ESD-9, ESD-13, LOCK-4: order, fulfil, mail, set password, reveal; on a
    desktop and on a phone (ALL-6)."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 900})
    base = stack.url
    win = make_product("W81-PRO", name="Windows 8.1 Pro")
    office = make_product("O2013-HB", name="Office Home and Business 2013")
    make_product("WS2012-STD", name="Windows Server 2012 Standard", esd_eligible=False, is_server=True)
    keys = stock(win, 3) + stock(office, 2)
    ARTIFACTS.mkdir(exist_ok=True)

    # The reseller orders 2 × W81-PRO + 1 × O2013-HB for a new address.
    log_in(page, base, reseller.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/orders/new/")
    assert page.locator("#id_lines-0-product option", has_text="Windows Server").count() == 0
    page.fill("#id_end_customer_email", CUSTOMER)
    page.fill("#id_end_customer_email_confirmation", CUSTOMER)
    page.select_option("#id_lines-0-product", value=str(win.pk))  # options also show price and stock (#13)
    page.fill("#id_lines-0-quantity", "2")
    page.get_by_role("button", name="Add another product").click()  # the form starts with one line (#13)
    page.select_option("#id_lines-1-product", value=str(office.pk))
    page.fill("#id_lines-1-quantity", "1")
    page.screenshot(path=str(ARTIFACTS / f"1-new-order-{width}.png"), full_page=True)
    page.get_by_role("button", name="Review order").click()  # the confirmation step (#13)
    page.get_by_role("button", name="Place order").click()

    # Fulfilled within seconds; the page refreshes itself until the welcome mail is out.
    expect(page.locator(".page-head .badge--fulfilled")).to_be_visible(timeout=60_000)
    expect(page.locator("#welcome-mail-status")).to_have_text(re.compile("Sent"), timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / f"2-order-fulfilled-{width}.png"), full_page=True)
    order = Order.objects.get()
    assert order.status == Order.Status.FULFILLED

    welcome = smtp_server.wait_for(lambda m: m["To"] == CUSTOMER and "Digital Locker" in m["Subject"])
    welcome_text = mail_text(welcome)
    assert win.installer_url in welcome_text and office.installer_url in welcome_text
    log_out(page)

    # The customer ignores the welcome link and uses "forgot password" (ESD-12, ESD-13).
    page.goto(f"{base}/accounts/password/reset/")
    page.fill("input[name=email]", CUSTOMER)
    page.get_by_role("button", name=re.compile("reset", re.I)).click()
    page.wait_for_load_state()
    reset = smtp_server.wait_for(
        lambda m: m["To"] == CUSTOMER and m is not welcome and "Digital Locker" not in m["Subject"]
    )
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail_text(reset)).group(0)
    page.goto(link)
    page.fill("input[name=email]", CUSTOMER)
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("set password", re.I)).click()
    page.wait_for_load_state()

    log_in(page, base, CUSTOMER, NEW_PASSWORD)
    page.goto(f"{base}/locker/")
    cards = page.locator("article.key-card")
    expect(cards).to_have_count(3)
    assert page.locator(".key--revealed").count() == 0
    revealed = []
    for i in range(3):
        # Revealed in its card (issue #13): the address stays the locker's, the button gives way to "Copy".
        card = page.locator("article.key-card").nth(i)
        card.get_by_role("button", name="Reveal key").click()
        shown = card.locator(".key--revealed")
        expect(shown).to_have_count(1)
        expect(card.get_by_role("button", name="Copy")).to_be_visible()
        assert card.get_by_role("button", name="Reveal key").count() == 0
        revealed.append(shown.inner_text().strip())
    assert page.url.endswith("/locker/") and page.locator(".key--revealed").count() == 3
    # The copy button puts the key beside it on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    card.get_by_role("button", name="Copy").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == revealed[-1]
    page.screenshot(path=str(ARTIFACTS / f"3-locker-{width}.png"), full_page=True)
    mine = ProductKey.objects.filter(allocation__line__order=order)
    assert sorted(revealed) == sorted(k for k in keys if any(k.endswith(r.last5) for r in mine)), (
        "the customer sees exactly the keys of the order"
    )
    assert len(set(revealed)) == 3 and set(revealed) <= set(keys)
    assert mine.filter(revealed_at__isnull=False).count() == 3
    log_out(page)

    # The reseller sees that the keys were opened, and never a key (ESD-7).
    log_in(page, base, reseller.email, DEFAULT_PASSWORD)
    seen = []
    for url in (f"{base}/orders/", f"{base}/orders/{order.pk}/", f"{base}/orders/new/", f"{base}/locker/"):
        page.goto(url)
        seen.append(page.content())
    page.goto(f"{base}/orders/{order.pk}/")
    page.screenshot(path=str(ARTIFACTS / f"4-reseller-after-{width}.png"), full_page=True)
    assert "Yes" in seen[1]
    for html in seen + [mail_text(m) for m in smtp_server.messages]:
        for k in keys:
            assert k not in html
