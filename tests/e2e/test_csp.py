"""The Content-Security-Policy holds in a real browser: every page works with no inline script or style,
and Chromium reports no violation (issue #11, item 6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Organisation
from orders.services import LineIn, order_place
from tests.e2e.helpers import log_in, log_in_staff, log_out
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user, org_of


def _watch(page: Any) -> list[str]:
    """Console messages about the policy, and script errors, as Chromium reports them."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_work_under_the_content_security_policy(live_server: Any, page: Any, staff: Any) -> None:
    """The header is on every page; the order form's "Add another product", the cancel confirmation, the
    API reference (split Swagger view) and the admin behind TOTP all run, with no violation reported."""
    from playwright.sync_api import expect

    base = live_server.url
    problems = _watch(page)
    reseller = make_user(
        make_org(Organisation.Kind.RESELLER, "CSP Reseller"), email="buyer@csp-reseller.test"
    )
    product = make_product("CSP-1", name="Policy Suite")
    waiting = order_place(
        reseller=org_of(reseller),
        placed_by=reseller,
        end_customer_email="customer@csp-customer.test",
        lines=[LineIn(product_id=product.pk, quantity=1)],
    )
    from orders.services import order_fulfil

    order_fulfil(order_id=waiting.pk)  # no stock: it waits, so it can be cancelled

    response = page.goto(f"{base}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.select_option("#lang-select", "de")  # the switcher sends its form from the portal's script
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.select_option("#lang-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    log_in(page, base, reseller.email, DEFAULT_PASSWORD)

    page.goto(f"{base}/orders/new/")
    before = page.locator("#lines select").count()
    page.get_by_role("button", name="Add another product").click()
    expect(page.locator("#lines select")).to_have_count(before + 1)

    page.goto(f"{base}/orders/{waiting.pk}/")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Cancel order").click()
    assert asked == ["Cancel this order?"]
    expect(page.locator(".badge").first).not_to_have_text(re.compile("Cancelled"))  # dismissed: nothing sent

    log_out(page)
    page.goto(f"{base}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Reseller portal API")

    log_in_staff(page, base, staff)
    page.goto(f"{base}/admin/orders/order/{waiting.pk}/change/")
    expect(page.locator("#content")).to_be_visible()
    assert problems == [], "\n".join(problems)
