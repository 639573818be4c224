"""The help module in Debian's Chromium at a phone's width, against a live server, a real worker and an SMTP
server (issue #15): a member with the *support requests* right files a request with a file, is refused for a
missing address with everything kept (the file too), files it, reads the number on screen and in the mail;
staff answer in the admin; the customer reads the answer (SUP-4, SUP-7, SUP-8, ALL-2, ALL-6)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership, Organisation
from centre.services.licences import licence_book
from support.models import Attachment, SupportRequest
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user, random_key

from .helpers import log_in, log_in_staff, log_out, mail_text


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_sup4_sup7_sup8_file_a_request_at_390px_staff_answer_the_customer_reads_it(
    stack: Any, smtp_server: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    base = stack.url
    company = make_org(Organisation.Kind.CUSTOMER, "Sklep Kowalski Sp. z o.o.")
    member = make_user(company, email="pomoc@sklep-kowalski.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=member).update(right_support=True)
    staff = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, "Distributor"),
        email="desk@distributor.test",
        is_staff=True,
        is_superuser=True,
    )
    product = make_product(
        "CS-PRO-E2E", name="Commerce Suite", edition="PROFESSIONAL", support_months=6, esd_eligible=False
    )
    licence = licence_book(
        customer=company,
        product=product,
        installation_number=random_key(),
        purchase_date=timezone.localdate() - timedelta(days=5),
        actor=None,
    )

    page.set_viewport_size({"width": 390, "height": 900})
    log_in(page, base, member.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/support/")
    page.locator("main").get_by_role("link", name="New request").first.click()
    page.get_by_label("Support number").select_option(licence.support_number)
    page.get_by_label("What is it about?").select_option("technical_advice")
    page.get_by_label("Subject").fill("Checkout shows error 500")
    page.get_by_label("Your question").fill("Since Monday every order ends with an error.")
    page.set_input_files(
        "input[name=attachments]",
        files=[{"name": "error-log.txt", "mimeType": "text/plain", "buffer": b"PHP Fatal error"}],
    )
    page.get_by_role("button", name="Send request").click()
    # Refused for the missing address, next to the field, with everything kept (ALL-2).
    expect(page.locator("#id_url_error")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Checkout shows error 500")
    expect(page.locator("main")).to_contain_text("error-log.txt")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("Address (URL) where the software is installed").fill(
        "https://www.sklep-kowalski.test/"
    )
    page.get_by_role("button", name="Send request").click()

    request = SupportRequest.objects.get()
    expect(page.get_by_role("heading", level=1)).to_contain_text(request.number)
    expect(page.locator("main")).to_contain_text("error-log.txt")
    assert Attachment.objects.get().request_id == request.pk
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    confirmation = smtp_server.wait_for(lambda m: m["To"] == member.email)
    assert request.number in confirmation["Subject"] and f"/support/{request.pk}/" in mail_text(confirmation)
    log_out(page)

    # Staff answer publicly in the admin: the clock stops.
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_staff(page, base, staff)
    page.goto(f"{base}/admin/support/supportrequest/{request.pk}/change/")
    page.fill("textarea[name=reply]", "Please update the payment module to 2.4.1.")
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/support/supportrequest/$"))
    request.refresh_from_db()
    assert request.sla_state == SupportRequest.Sla.ANSWERED
    page.context.clear_cookies()

    page.set_viewport_size({"width": 390, "height": 900})
    log_in(page, base, member.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/support/{request.pk}/")
    expect(page.locator("main")).to_contain_text("Please update the payment module to 2.4.1.")
    expect(page.locator("main")).to_contain_text("Answered")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
