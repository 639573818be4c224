"""Every page at 1280 and 390 pixels wide, in Debian's Chromium (issue #13, ALL-6): nothing scrolls sideways,
no table hides columns in an inner scroll (below 640 px tables become stacked cards), and axe-core finds no
serious or critical accessibility violation on the pages people use most. The admin shows its key columns
at 1280 px. ``make screenshots`` runs this module with SCREENSHOTS=1 and keeps a picture of every page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from api.services import api_token_create
from centre.services.downloads import licence_downloads_withdraw
from centre.services.licences import licence_book
from locker.models import ProductKey
from orders.mail import set_password_url
from orders.models import Order
from orders.services import LineIn, order_cancel, order_fulfil, order_place
from tests.factories import (
    DEFAULT_PASSWORD,
    give_totp,
    make_org,
    make_product,
    make_release,
    make_user,
    random_key,
    stock,
)
from webhooks.services import endpoint_create

from .conftest import launch_chromium
from .helpers import ARTIFACTS

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390}
SHOTS = os.environ.get("SCREENSHOTS") == "1"

# Laid out wider than the window, or holding a horizontal scroller wider than itself (selects, text areas
# and the API reference's code samples aside).
_OVERFLOW = """() => {
  const inner = [...document.querySelectorAll('body *')].filter(el => {
    if (['SELECT', 'TEXTAREA', 'PRE', 'CODE', 'OPTION'].includes(el.tagName)) return false;
    const s = getComputedStyle(el);
    return (s.overflowX === 'auto' || s.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1;
  }).map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().replace(/\\s+/g, '.') : ''));
  return {page: document.documentElement.scrollWidth, window: window.innerWidth, inner: inner};
}"""


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


def _context(browser: Any, width: int) -> Any:
    # The CSP is bypassed only so that axe-core can be injected; test_csp.py proves the policy itself.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    context.set_default_timeout(30_000)
    return context


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()


def _check(page: Any, url: str, name: str, width_name: str, *, axe: bool, problems: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    page.wait_for_load_state()
    found = page.evaluate(_OVERFLOW)
    if found["page"] > found["window"]:
        problems.append(f"{name} @{width_name}: the page is {found['page']} px wide in {found['window']} px")
    if found["inner"]:
        problems.append(f"{name} @{width_name}: inner horizontal scroll in {found['inner']}")
    if axe:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            """async () => {
              const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
              return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
            }"""
        )
        problems.extend(f"{name} @{width_name}: axe {violation}" for violation in result)
    if SHOTS:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"screen-{name}-{width_name}.png"), full_page=True)


def _world(settings: Any) -> dict[str, Any]:
    """A reseller with orders in every state, an API token, a webhook with a long address, a mail domain;
    an end customer with keys of two orders, one revealed; a staff member."""
    settings.WEBHOOK_ALLOWED_TARGETS = ["127.0.0.1:9911"]
    org = make_org(Organisation.Kind.RESELLER, "Layout Reseller Sp. z o.o.")
    reseller = make_user(org, email="buyer@layout-reseller.test")
    customer = make_user(None, email="anna.kowalska-wisniewska@a-rather-long-customer-domain.test")
    office = make_product("O2024-HB", name="Office Home and Business 2024 (long product name for phones)")
    windows = make_product("W11-PRO", name="Windows 11 Pro")
    stock(office, 2)
    stock(windows, 1)
    orders = []
    for lines in ([(office, 1), (windows, 1)], [(office, 1)]):
        order = order_place(
            reseller=org,
            placed_by=reseller,
            end_customer_email=customer.email,
            lines=[LineIn(product_id=p.pk, quantity=q) for p, q in lines],
        )
        order_fulfil(order_id=order.pk)
        orders.append(order)
    waiting = order_place(
        reseller=org,
        placed_by=reseller,
        end_customer_email="waits@customer.test",
        lines=[LineIn(product_id=windows.pk, quantity=3)],
    )
    order_fulfil(order_id=waiting.pk)
    cancelled = order_place(
        reseller=org,
        placed_by=reseller,
        end_customer_email="cancel@customer.test",
        lines=[LineIn(product_id=windows.pk, quantity=1)],
    )
    order_fulfil(order_id=cancelled.pk)  # no stock left: it waits, so it can be cancelled
    order_cancel(organisation=org, order_id=cancelled.pk, actor=reseller)
    Order.objects.filter(pk=orders[0].pk).update(welcome_mail_status=Order.MailStatus.FAILED)
    api_token_create(organisation=org, user=reseller, name="Shop integration with a fairly long name")
    endpoint, _secret = endpoint_create(
        organisation=org,
        user=reseller,
        url="http://127.0.0.1:9911/hooks/portal/orders/a-very-long-path-segment-that-must-wrap-on-phones",
        events=["order.fulfilled"],
    )
    org.mail_domains.create(domain="layout-reseller.test")
    staff = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, "Distributor"),
        email="staff@layout.test",
        is_staff=True,
        is_superuser=True,
    )
    fresh = make_user(None, email="new.customer@layout.test", password=None)
    # The customer centre (issue #14): an administrator, a colleague with one right, a long address.
    company = Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER,
        name="Layout Customer Spółka z ograniczoną odpowiedzialnością",
        customer_id="C-0042",
        tax_id="PL 526-025-09-95",
    )
    centre_admin = make_user(company, email="it.administrator@a-rather-long-customer-domain.test")
    colleague = make_user(company, email="downloads.only@a-rather-long-customer-domain.test", role="member")
    colleague.memberships.update(right_downloads=True)
    # Two licences (numbers generated now, never stored in a file): one still supported, one ended.
    server = make_product(
        "WS2022-DC-LAYOUT", name="Windows Server 2022 Datacenter, 16-core licence pack", support_months=6
    )
    for product, days_ago, edition in [(server, 20, "Volume licensing, government"), (server, 400, "")]:
        licence_book(
            customer=company,
            product=product,
            installation_number=random_key() + "-" + random_key(),
            purchase_date=timezone.localdate() - timedelta(days=days_ago),
            edition=edition,
            actor=staff,
        )
    # Addresses, news and documents of the customer centre (issue #14): long values that must wrap.
    import dataclasses

    from django.core.files.base import ContentFile

    from centre.models import Document, NewsItem
    from centre.services.addresses import AddressIn, address_set, site_add

    long_address = AddressIn(
        company=company.name,
        attention="Działu Informatyki i Bezpieczeństwa Teleinformatycznego",
        street="ul. Księcia Józefa Poniatowskiego 123/456 lokal 789",
        postcode="61-888",
        city="Poznań",
        country_code="PL",
        phone="+48 61 123 45 67",
    )
    address_set(organisation=company, actor=centre_admin, kind="billing", data=long_address)
    site_add(
        organisation=company,
        actor=centre_admin,
        data=dataclasses.replace(long_address, label="Magazyn centralny Poznań-Franowo"),
    )
    news_item = NewsItem.objects.create(
        title="Windows Server 2022 Datacenter: cumulative update for the 16-core licence pack",
        body="<p>Install the <strong>update</strong> before 31 December.</p>",
        product=server,
        published_at=timezone.now() - timedelta(days=1),
    )
    document = Document(
        title="Installation guide for Windows Server 2022 Datacenter", language="pl", published=True
    )
    document.file.save("installation-guide.txt", ContentFile(b"guide"), save=False)
    document.save()
    # Downloads (issue #14): a release of the licensed product with a long-named file (bytes made now), and
    # another product whose download access was withdrawn, with its reason.
    release = make_release(
        server,
        "2022.11.0-cumulative-update",
        files={"windows-server-2022-datacenter-cumulative-update-2022-11.msu": b"update"},
        notes="Security fixes and a long note that must wrap on a phone without scrolling sideways.",
    )
    withdrawn_product = make_product("CS-STD-LAYOUT", name="Commerce Suite STANDARD")
    withdrawn = licence_book(
        customer=company,
        product=withdrawn_product,
        installation_number=random_key(),
        purchase_date=timezone.localdate(),
        actor=staff,
    )
    make_release(withdrawn_product, "5.2.0", files={"cs-std.zip": b"std"})
    licence_downloads_withdraw(
        licence_ids=[withdrawn.pk], reason="The licence was used on more shops than it covers.", actor=staff
    )
    # The support desk (issue #15): one request on the supported licence, with a long subject and address.
    from support.services.requests import request_file

    supported = company.licences.filter(support_ends_on__gt=timezone.localdate()).get()
    support_request = request_file(
        organisation=company,
        requester=centre_admin,
        kind="support",
        support_number=supported.support_number,
        url="https://www.a-rather-long-customer-domain.test/shop/administration-panel/index.php",
        category="technical_advice",
        subject="The checkout of the shop shows an error after the update to the newest release",
        body="Steps:\n1. Add a product\n2. Pay\nhttps://www.a-rather-long-customer-domain.test/shop/checkout/error",
    )
    return {
        "news_item": news_item,
        "release": release,
        "reseller": reseller,
        "customer": customer,
        "staff": staff,
        "order": orders[0],
        "endpoint": endpoint,
        "set_password": set_password_url(fresh),
        "centre_admin": centre_admin,
        "colleague": colleague.memberships.get(),
        "support_request": support_request,
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_all6_no_page_scrolls_sideways_and_axe_finds_nothing_serious(
    live_server: Any, browser: Any, settings: Any
) -> None:
    """ALL-6: at 1280 and 390 px, the login, home, order list, new order, order detail, address correction,
    invoices, API tokens, webhooks, mail domains, two-factor, locker, set-password, customer centre (overview,
    people, invite, person, licences, product registration, addresses, billing and site forms, news, a news
    item, documents, downloads, a release), own e-mail change, signed-in sessions, the help module (list, new
    request, request) and error pages fit the window without an inner horizontal scroll, and axe-core reports no serious or critical violation."""
    settings.PORTAL_BASE_URL = live_server.url
    world = _world(settings)
    base = live_server.url
    order = world["order"]
    reseller_pages = [
        ("home", "/", True),
        ("orders", "/orders/", True),
        ("orders-search", "/orders/?q=anna", False),
        ("new-order", "/orders/new/", True),
        ("order-detail", f"/orders/{order.pk}/", True),
        ("correct-email", f"/orders/{order.pk}/correct-email/", False),
        ("api-tokens", "/settings/api-tokens/", True),
        ("webhooks", "/settings/webhooks/", True),
        ("webhook-detail", f"/settings/webhooks/{world['endpoint'].pk}/", True),
        ("mail-domains", "/settings/mail-domains/", False),
        ("two-factor", "/accounts/2fa/", False),
        ("not-found", "/orders/999999/", False),
        ("forbidden", "/locker/", False),
        ("email-change", "/account/email/", True),
        ("sessions", "/accounts/sessions/", True),
        ("support-reseller", "/support/", True),
        ("support-reseller-new", "/support/new/", True),
    ]
    problems: list[str] = []
    for width_name, width in WIDTHS.items():
        context = _context(browser, width)
        page = context.new_page()
        _check(page, f"{base}/accounts/login/", "login", width_name, axe=True, problems=problems)
        _check(page, world["set_password"], "set-password", width_name, axe=True, problems=problems)
        _check(
            page,
            f"{base}/accounts/password/reset/",
            "password-reset",
            width_name,
            axe=False,
            problems=problems,
        )
        _check(page, f"{base}/centre/register/", "register", width_name, axe=True, problems=problems)
        _check(page, f"{base}/help/", "help", width_name, axe=True, problems=problems)
        _sign_in(page, base, world["reseller"].email)
        for name, path, axe in reseller_pages:
            _check(page, base + path, name, width_name, axe=axe, problems=problems)
        context.close()

        context = _context(browser, width)
        page = context.new_page()
        _sign_in(page, base, world["customer"].email)
        _check(page, f"{base}/locker/", "locker", width_name, axe=True, problems=problems)
        page.locator("button[data-reveal]").first.click()
        page.locator("[data-revealed]").first.wait_for()
        _check_revealed_key_fits(page, width_name, problems)
        context.close()

        context = _context(browser, width)
        page = context.new_page()
        _sign_in(page, base, world["centre_admin"].email)
        for name, path in [
            ("centre", "/centre/"),
            ("people", "/centre/people/"),
            ("invite", "/centre/people/invite/"),
            ("person", f"/centre/people/{world['colleague'].pk}/"),
            ("licences", "/centre/licences/"),
            ("addresses", "/centre/addresses/"),
            ("address-billing", "/centre/addresses/billing/"),
            ("site-add", "/centre/addresses/sites/new/"),
            ("news", "/centre/news/"),
            ("news-item", f"/centre/news/{world['news_item'].pk}/"),
            ("documents", "/centre/documents/"),
            ("licence-register", "/centre/licences/register/"),
            ("downloads", "/centre/downloads/"),
            ("release", f"/centre/downloads/{world['release'].pk}/"),
            ("support", "/support/"),
            ("support-new", "/support/new/"),
            ("support-request", f"/support/{world['support_request'].pk}/"),
        ]:
            _check(page, base + path, name, width_name, axe=True, problems=problems)
        assert page.goto(f"{base}/centre/people/").status == 200  # walked as the administrator, not a 403
        licences = page.goto(f"{base}/centre/licences/")
        assert (
            licences is not None and licences.status == 200 and page.locator("code.key").count() == 3
        )  # with the withdrawn one
        context.close()
    assert not problems, "\n".join(problems)


def _check_revealed_key_fits(page: Any, width_name: str, problems: list[str]) -> None:
    """A revealed key is shown on one line, whole, even on a phone (issue #13: it broke across lines)."""
    box = page.locator("[data-revealed]").first.bounding_box()
    line = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('[data-revealed]')).lineHeight)"
    )
    if box is None or box["height"] > line * 1.6:
        problems.append(f"locker @{width_name}: the revealed key takes more than one line ({box})")
    found = page.evaluate(_OVERFLOW)
    if found["page"] > found["window"] or found["inner"]:
        problems.append(f"locker revealed @{width_name}: {found}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_at_1280_shows_the_key_columns(live_server: Any, browser: Any, settings: Any) -> None:
    """Issue #13: the admin's key list and order list show every column at 1280 px, without a scroller."""
    from tests.factories import fresh_totp_code

    world = _world(settings)
    staff = world["staff"]
    secret = give_totp(staff)
    context = _context(browser, 1280)
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=login]", staff.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.fill("input[name=code]", fresh_totp_code(secret, margin=10))
    page.press("input[name=code]", "Enter")
    page.wait_for_url(re.compile(r"/admin/$"))
    for name in ("admin:locker_productkey_changelist", "admin:orders_order_changelist"):
        page.goto(base + reverse(name))
        table = page.locator("#result_list")
        assert table.count() == 1, name
        fits = page.evaluate(
            "() => { const t = document.querySelector('#result_list');"
            " const box = t.closest('.results') || t.parentElement;"
            " return t.scrollWidth <= box.clientWidth + 1 && document.documentElement.scrollWidth <= window.innerWidth; }"
        )
        if SHOTS or not fits:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"screen-{name.split(':')[1]}-desktop.png"), full_page=True)
        assert fits, f"{name}: columns cut at 1280 px"
    assert ProductKey.objects.exists()
    context.close()
