"""The support desk's staff side in Debian's Chromium, against a live server and a real worker (issue #15):
a support agent records a phone call in the admin and reads its number, the customer finds it in the help
module, a refused call keeps what was typed (SUP-6, SUP-7, ALL-2); the customer gives access with a request,
only the assigned agent reveals it, the reveal is recorded and closing destroys it (SUP-10)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from centre.services.licences import licence_book
from support.models import Kind, RequestCredential, SupportEvent, SupportRequest
from support.services.requests import request_file
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user, random_key

from .helpers import log_in, log_in_staff

NUMBER = re.compile(r"SUP-\d{4}-\d+")


def agent(email: str) -> User:
    """A staff member of the distributor in the "Support agents" group (no superuser)."""
    user = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, f"Distributor {email}"),
        email=email,
        is_staff=True,
        role=Membership.Role.SUPPORT_AGENT,
    )
    user.groups.add(Group.objects.get_or_create(name="Support agents")[0])  # a flushed database lost it
    return user


def customer_with_licence() -> tuple[Organisation, User, Any]:
    company = make_org(Organisation.Kind.CUSTOMER, "Sklep Kowalski Sp. z o.o.")
    Organisation.objects.filter(pk=company.pk).update(customer_id="C-204511")
    company.refresh_from_db()
    member = make_user(company, email="pomoc@sklep-kowalski.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=member).update(right_support=True)
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
    return company, member, licence


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_sup6_sup7_all2_an_agent_records_a_phone_call_the_customer_follows_it(stack: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base = stack.url
    company, member, licence = customer_with_licence()
    desk = agent("desk@distributor.test")

    log_in_staff(page, base, desk)
    page.goto(f"{base}/admin/support/supportrequest/phone/")
    expect(page.get_by_role("heading", name="Record a phone call")).to_be_visible()
    page.get_by_label("Customer number").fill(company.customer_id)
    page.get_by_label("Caller's e-mail (a person of the customer)").fill(member.email)
    page.get_by_label("Support number").fill("S-NOT-THEIRS-1")
    page.get_by_label("Address (URL) where the software is installed").fill(
        "https://www.sklep-kowalski.test/"
    )
    page.get_by_label("What it is about").select_option("technical_advice")
    page.get_by_label("Subject").fill("Shop down after the update")
    page.get_by_label("What was said").fill("The caller says every page shows a blank screen since 9:00.")
    page.get_by_role("button", name="Record the call").click()

    # Refused: the reason by the support number, everything typed kept (ALL-2), nothing filed.
    row = page.locator(".form-row.errors").filter(has=page.locator("#id_support_number"))
    expect(row).to_contain_text("not one of your organisation's licences")
    expect(page.get_by_label("Subject")).to_have_value("Shop down after the update")
    expect(page.get_by_label("What was said")).to_have_value(
        "The caller says every page shows a blank screen since 9:00."
    )
    expect(page.get_by_label("Customer number")).to_have_value(company.customer_id)
    expect(page.get_by_label("Address (URL) where the software is installed")).to_have_value(
        "https://www.sklep-kowalski.test/"
    )
    assert not SupportRequest.objects.exists()

    page.get_by_label("Support number").fill(licence.support_number)
    page.get_by_role("button", name="Record the call").click()
    expect(page).to_have_url(re.compile(r"/admin/support/supportrequest/\d+/change/$"))
    request = SupportRequest.objects.get()
    assert NUMBER.fullmatch(request.number) and request.channel == "phone"
    expect(page.locator(".messagelist")).to_contain_text(f"The call was recorded as {request.number}.")
    expect(page.locator("body")).to_contain_text("Phone call recorded by staff")
    assert SupportEvent.objects.filter(
        request=request, kind=SupportEvent.Kind.PHONE_CALL, actor=desk
    ).exists()
    page.context.clear_cookies()

    log_in(page, base, member.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/support/")
    expect(page.locator("main")).to_contain_text(request.number)
    expect(page.locator("main")).to_contain_text("Shop down after the update")


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_sup10_credentials_sealed_revealed_only_to_the_assignee_recorded_destroyed_on_close(
    stack: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    base = stack.url
    company, member, licence = customer_with_licence()
    assignee = agent("assignee@distributor.test")
    colleague = agent("colleague@distributor.test")
    request = request_file(
        organisation=company,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://www.sklep-kowalski.test/",
        category="technical_advice",
        subject="Orders do not reach the warehouse",
        body="Please have a look at the export settings.",
    )
    password = "Pw-" + secrets.token_urlsafe(12)  # made at run time, never in a file

    # The customer gives access to the admin panel from the request's page.
    log_in(page, base, member.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/support/{request.pk}/")
    page.get_by_label("Access to").select_option(RequestCredential.Kind.ADMIN_PANEL)
    page.get_by_label("Address of the admin panel or server").fill("https://www.sklep-kowalski.test/admin/")
    page.get_by_label("User name").fill("support-visit")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Give access").click()
    expect(page.locator("body")).to_contain_text("the access is sealed for the staff member working on it")
    assert password not in page.content()
    credential = RequestCredential.objects.get(request=request)
    assert credential.secret_master_key_id and password.encode() not in bytes(credential.secret_ciphertext)
    page.context.clear_cookies()

    # A staff member who is not the assignee sees that access was given, but no reveal; a forged POST is
    # refused.
    SupportRequest.objects.filter(pk=request.pk).update(assignee=assignee)
    change = f"{base}/admin/support/supportrequest/{request.pk}/change/"
    log_in_staff(page, base, colleague)
    page.goto(change)
    section = page.locator("#credentials")
    expect(section).to_contain_text("www.sklep-kowalski.test/admin/")
    expect(section).to_contain_text("sealed (the assignee can reveal them)")
    expect(section.get_by_role("button", name="Reveal")).to_have_count(0)
    assert password not in page.content()
    status = page.evaluate(
        """async (url) => {
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
            const body = new URLSearchParams({csrfmiddlewaretoken: token});
            return (await fetch(url, {method: "POST", body, credentials: "same-origin"})).status;
        }""",
        f"/admin/support/supportrequest/credential/{credential.pk}/reveal/",
    )
    assert status == 403
    assert not SupportEvent.objects.filter(kind=SupportEvent.Kind.CREDENTIAL_REVEALED).exists()
    page.context.clear_cookies()

    # The assignee reveals it (a new tab), and the reveal is in the request's history.
    log_in_staff(page, base, assignee)
    page.goto(change)
    assert password not in page.content()
    with page.context.expect_page() as opened:
        page.locator("#credentials").get_by_role("button", name="Reveal").click()
    revealed = opened.value
    revealed.wait_for_load_state()
    expect(revealed.locator("#content")).to_contain_text(password)
    expect(revealed.locator("#content")).to_contain_text("This reveal is recorded.")
    revealed.close()
    assert SupportEvent.objects.filter(
        request=request, kind=SupportEvent.Kind.CREDENTIAL_REVEALED, actor=assignee
    ).exists()
    page.reload()
    expect(page.locator("body")).to_contain_text(f"Credentials revealed · {assignee.email}")
    assert password not in page.content()

    # Closing the request destroys the credential: no reveal any more, the customer is told.
    page.get_by_label("Move to").select_option(SupportRequest.Status.CLOSED)
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/support/supportrequest/$"))
    page.goto(change)
    section = page.locator("#credentials")
    expect(section).to_contain_text("destroyed")
    expect(section.get_by_role("button", name="Reveal")).to_have_count(0)
    expect(page.locator("body")).to_contain_text("Credentials destroyed")
    credential.refresh_from_db()
    assert credential.destroyed_at is not None and not bytes(credential.secret_ciphertext)
    page.context.clear_cookies()

    log_in(page, base, member.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/support/{request.pk}/")
    expect(page.locator("main")).to_contain_text(
        "The access you gave was destroyed when this request closed."
    )
    assert password not in page.content()
