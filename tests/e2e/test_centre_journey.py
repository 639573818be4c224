"""The customer centre as a company meets it, in Debian's Chromium against a live server, a real worker and an
SMTP server (issue #14): registration with the customer id and a tax id written another way, the confirmation
mail, the confirmation by button, the login, the centre, and a colleague invited with only *downloads* who
gets a set-password link (CC-6, CC-7, CC-8; at a phone's width, ALL-6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Membership, Organisation
from tests.factories import make_org

from .helpers import mail_text

PASSWORD = "Amber-Harbour-Lantern-57"


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_cc7_cc8_cc6_register_confirm_and_invite_in_the_browser(
    stack: Any, smtp_server: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    base = stack.url
    page.set_viewport_size({"width": 390, "height": 900})
    customer = make_org(Organisation.Kind.CUSTOMER, "Kowalski Hurt Sp. z o.o.")
    customer.customer_id, customer.tax_id, customer.country_code = "C-554411", "PL 526-025-09-95", "PL"
    customer.save()

    # From the login page to the registration; the tax id typed without separators or prefix (CC-7).
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Register your company").click()
    page.fill("input[name=customer_id]", "C-554411")
    page.fill("input[name=tax_id]", "5260250995")
    page.fill("input[name=first_name]", "Jan")
    page.fill("input[name=last_name]", "Kowalski")
    page.fill("input[name=email]", "jan.kowalski@kowalski-hurt.test")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("main")).to_contain_text("jan.kowalski@kowalski-hurt.test")
    assert not Membership.objects.filter(organisation=customer).exists()  # nothing until confirmed (CC-8)

    mail = smtp_server.wait_for(lambda m: m["To"] == "jan.kowalski@kowalski-hurt.test")
    link = re.search(r"https?://\S+/centre/register/confirm/\S+?/", mail_text(mail)).group(0)
    page.goto(link)
    expect(page.locator("main")).to_contain_text("C-554411")
    assert not Membership.objects.filter(organisation=customer).exists()  # opening the link confirms nothing
    page.get_by_role("button", name="Confirm and become the administrator").click()
    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    page.locator("main").get_by_role("link", name="Log in").click()
    page.fill("input[name=login]", "jan.kowalski@kowalski-hurt.test")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(re.compile(r"/centre/$"))
    expect(page.locator("main")).to_contain_text("Kowalski Hurt")
    admin = Membership.objects.get(organisation=customer)
    assert admin.role == Membership.Role.ADMIN and admin.user.email == "jan.kowalski@kowalski-hurt.test"

    # The administrator invites a colleague with only the downloads right (CC-6).
    page.goto(f"{base}/centre/people/")
    page.get_by_role("link", name=re.compile("invite", re.I)).first.click()
    page.fill("input[name=email]", "anna@kowalski-hurt.test")
    page.get_by_label("Downloads").check()
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("main")).to_contain_text("anna@kowalski-hurt.test")
    colleague = Membership.objects.get(organisation=customer, user__email="anna@kowalski-hurt.test")
    assert colleague.role == Membership.Role.MEMBER and set(colleague.rights) == {Membership.Right.DOWNLOADS}
    invitation = smtp_server.wait_for(lambda m: m["To"] == "anna@kowalski-hurt.test")
    assert "/accounts/password/reset/key/" in mail_text(invitation)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
