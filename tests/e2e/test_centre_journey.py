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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cc2_cc1_a_colleague_with_downloads_only_downloads_a_file_and_sees_no_installation_number(
    live_server: Any, page: Any, settings: Any
) -> None:
    """CC-2, CC-1: at a phone's width, a colleague with only *downloads* goes from the centre to the
    downloads, downloads a file whose SHA-256 matches the one shown, and no page on the way shows an
    installation number; the download is recorded (ALL-3)."""
    import hashlib
    import os
    import secrets
    from pathlib import Path

    from django.utils import timezone
    from playwright.sync_api import expect

    from centre.models import DownloadEvent
    from centre.services.licences import licence_book
    from tests.factories import DEFAULT_PASSWORD, make_product, make_release, make_user

    settings.CENTRE_DOWNLOAD_DELIVERY = "direct"  # the development server hands the file over itself
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 900})
    customer = make_org(Organisation.Kind.CUSTOMER, "Nowak Serwis Sp. z o.o.")
    customer.customer_id = "C-778899"
    customer.save()
    colleague = make_user(customer, email="anna@nowak-serwis.test", role=Membership.Role.MEMBER)
    colleague.memberships.update(right_downloads=True)
    product = make_product("CS-PRO-E2E", name="Commerce Suite PROFESSIONAL", support_months=6)
    number = "-".join(secrets.token_hex(3).upper() for _ in range(4))  # made now, never in a file
    licence_book(
        customer=customer,
        product=product,
        installation_number=number,
        purchase_date=timezone.localdate(),
        actor=None,
    )
    content = os.urandom(5000)
    release = make_release(product, "5.2.0", files={"cs-pro-5.2.0.zip": content}, notes="Faster checkout.")
    stored = release.files.get()

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", colleague.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(re.compile(r"/centre/$"))
    seen = [page.content()]
    page.get_by_role("link", name=re.compile("Downloads: new versions")).click()
    expect(page.locator("main")).to_contain_text("Commerce Suite PROFESSIONAL 5.2.0")
    expect(page.locator("main")).to_contain_text(stored.sha256)
    seen.append(page.content())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Download cs-pro-5.2.0.zip")).click()
    downloaded = Path(info.value.path()).read_bytes()
    assert hashlib.sha256(downloaded).hexdigest() == stored.sha256 and downloaded == content
    page.get_by_role("link", name="Commerce Suite PROFESSIONAL 5.2.0").click()
    expect(page.locator("main")).to_contain_text("Faster checkout.")
    seen.append(page.content())
    assert page.goto(f"{base}/centre/licences/").status == 403  # not even the list exists for her
    seen.append(page.content())
    for html in seen:
        assert number not in html and number.replace("-", "") not in html
    event = DownloadEvent.objects.get()
    assert event.actor_id == colleague.pk and event.organisation_id == customer.pk
