"""The shell and the design system in a real browser (issue #13), at 390 px and 1280 px (ALL-6): the login
page, the error pages and the settings pages never scroll sideways, tables stack into cards on a phone with
every button reachable, and the copy button copies and says so."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import loader

from accounts.models import MailDomain
from tests.factories import DEFAULT_PASSWORD, make_user, org_of

from .helpers import ARTIFACTS

SHOTS = ARTIFACTS / "design-shell"  # for review, never committed
WIDTHS = (390, 1280)
LONG_URL = "https://hooks.shop-with-a-rather-long-name.example.com/" + "integrations/portal/" * 6 + "receive"


def _no_sideways_scroll(page: Any, what: str) -> None:
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport, f"{what}: the page is {width} px wide in a {viewport} px window"


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _visit(page: Any, url: str, name: str, width: int, status: int | None = None) -> None:
    response = page.goto(url)
    if status is not None:
        assert response.status == status, (url, response.status)
    page.wait_for_load_state()
    _no_sideways_scroll(page, f"{name} at {width} px")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_all6_login_error_and_settings_pages_fit_the_screen(
    live_server: Any, page: Any, reseller: Any, monkeypatch: Any, width: int
) -> None:
    """ALL-6: at 390 and 1280 px no page scrolls sideways (long webhook URLs and e-mails wrap), the token
    table is stacked cards on a phone with Revoke on screen, the filter-free settings pages keep 44 px
    targets, and the 403/404/405/500 pages are the portal's."""
    from playwright.sync_api import expect

    from webhooks import services as webhook_services

    monkeypatch.setattr(webhook_services.targets, "resolve", lambda url: None)
    org = org_of(reseller)
    endpoint, _secret = webhook_services.endpoint_create(
        organisation=org, user=reseller, url=LONG_URL, events=["order.fulfilled"]
    )
    MailDomain.objects.create(organisation=org, domain="reseller-one.test", created_by=reseller)
    customer = make_user(None, email="a.customer.with.a.very.long.address@customer-domain.example")
    base = live_server.url
    context = page.context.browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    try:
        _visit(tab, f"{base}/accounts/login/", "login", width)
        expect(tab.get_by_role("heading", name="Log in")).to_be_visible()
        _visit(tab, f"{base}/accounts/password/reset/", "password-reset", width)
        _visit(tab, f"{base}/no/such/page/", "404", width, status=404)
        expect(tab.locator(".error-page")).to_be_visible()

        page_500 = loader.get_template("500.html").render()
        tab.route(
            f"{base}/boom/", lambda route: route.fulfill(status=500, body=page_500, content_type="text/html")
        )
        _visit(tab, f"{base}/boom/", "500", width, status=500)
        expect(tab.locator(".error-page h1")).to_have_text("Something went wrong on our side")

        _log_in(tab, base, customer.email)
        _visit(tab, f"{base}/orders/", "403", width, status=403)
        expect(tab.locator(".brand")).to_have_text("My Digital Locker")
        tab.get_by_role("button", name="Log out").click()
        tab.wait_for_load_state()

        _log_in(tab, base, reseller.email)
        tab.goto(f"{base}/settings/api-tokens/")
        tab.fill("input[name=name]", "Web shop with a long name for its token")
        tab.get_by_role("button", name="Create token").click()
        tab.wait_for_load_state()
        _visit(tab, f"{base}/settings/api-tokens/", "api-tokens", width)
        revoke = tab.get_by_role("button", name="Revoke Web shop with a long name for its token")
        expect(revoke).to_be_visible()
        box = revoke.bounding_box()
        assert box["x"] + box["width"] <= width and box["height"] >= (44 if width < 640 else 30), box
        if width < 640:  # stacked: the header row is hidden, each cell shows its label
            assert tab.locator("thead").first.evaluate("e => e.getBoundingClientRect().height") <= 1
            label = tab.locator("td[data-label]").first.evaluate(
                "e => getComputedStyle(e, '::before').content"
            )
            assert label == '"Name"', label
        _visit(tab, f"{base}/settings/webhooks/", "webhooks", width)
        _visit(tab, f"{base}/settings/webhooks/{endpoint.pk}/", "webhook-detail", width)
        _visit(tab, f"{base}/settings/mail-domains/", "mail-domains", width)
        tab.goto(f"{base}/settings/webhooks/")
        url_height = tab.locator("input[name=url]").evaluate("e => e.getBoundingClientRect().height")
        tab.goto(f"{base}/settings/mail-domains/")
        domain_height = tab.locator("input[name=domain]").evaluate("e => e.getBoundingClientRect().height")
        assert url_height == domain_height >= 44  # the URL field is styled like every other field
        _visit(tab, f"{base}/settings/api-tokens/1/revoke/", "405", width, status=405)
        expect(tab.locator(".error-page")).to_be_visible()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_all6_copy_button_copies_the_new_token_and_announces_it(
    live_server: Any, page: Any, reseller: Any
) -> None:
    """ALL-6: the new token's "Copy token" button puts the token on the clipboard, says "Copied" and
    announces it in the live region; the skip link is the first thing the keyboard reaches."""
    from playwright.sync_api import expect

    base = live_server.url
    context = page.context.browser.new_context(
        viewport={"width": 390, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    tab = context.new_page()
    try:
        _log_in(tab, base, reseller.email)
        tab.goto(f"{base}/settings/api-tokens/")
        tab.keyboard.press("Tab")
        expect(tab.locator(".skip-link")).to_be_focused()
        tab.fill("input[name=name]", "Clipboard")
        tab.get_by_role("button", name="Create token").click()
        token = tab.locator("#token-value").inner_text().strip()
        button = tab.get_by_role("button", name="Copy token")
        expect(button).to_be_visible()
        button.click()
        expect(tab.locator(".copy__btn")).to_have_text("Copied")
        expect(tab.locator("#live-status")).to_have_text("Copied to the clipboard")
        assert tab.evaluate("navigator.clipboard.readText()") == token
        _no_sideways_scroll(tab, "the new token at 390 px")
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / "token-copied-390.png"), full_page=True)
    finally:
        context.close()
