"""A partner's sale registered in the browser (issue #14; CC-9, CC-10, SUP-2, SUP-3, ALL-6), in Debian's
Chromium against a live server and a real Celery worker: staff upload a licences file in the admin with a
number issued for a partner's sale, the worker imports it while the page shows its progress, then the
customer's administrator registers the number at a phone's width and finds it in the licence list as
*registered*, with support from the sale date. The number is generated now, never written in a file of the
repository."""

from __future__ import annotations

import re
import secrets
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Membership, Organisation
from centre.models import ImportJob, IssuedNumber, Licence
from tests.conftest import wait_until
from tests.factories import DEFAULT_PASSWORD, make_org, make_product, make_user

from .helpers import log_in, log_in_staff, log_out


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_cc10_cc9_staff_upload_issued_numbers_and_the_customer_registers_one_in_the_browser(
    stack: Any, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base = stack.url
    make_product("CS-STD", name="Commerce Suite STANDARD", edition="STANDARD", support_months=3)
    customer = make_org(Organisation.Kind.CUSTOMER, "Partner Buyer Sp. z o.o.")
    customer.customer_id = "C-778899"
    customer.save()
    boss = make_user(customer, email="boss@partner-buyer.test", role=Membership.Role.ADMIN)
    staff = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, "Distributor"),
        email="staff@distributor.test",
        is_staff=True,
        is_superuser=True,
    )
    number = "-".join(
        "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6)) for _ in range(4)
    )
    sale = date(2026, 9, 15)
    upload = tmp_path / "erp-licences.csv"
    upload.write_text(
        f"customer_id,sku,installation_number,purchase_date\n,CS-STD,{number},{sale.isoformat()}\n",
        encoding="utf-8",
    )

    # Staff upload the ERP's file; the worker imports it, and the job's page follows it to the end.
    log_in_staff(page, base, staff)
    page.goto(f"{base}/admin/centre/importjob/add/")
    page.select_option("select[name=kind]", "licences")
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Upload and import").click()
    expect(page).to_have_url(re.compile(r"/admin/centre/importjob/\d+/change/$"))
    expect(page.locator("progress").first).to_be_visible()
    wait_until(
        lambda: ImportJob.objects.filter(status=ImportJob.Status.DONE).exists(),
        timeout=60,
        what="the worker to import the file",
    )
    expect(page.locator("#content")).to_contain_text("numbers issued: 1", timeout=15_000)  # refreshed itself
    assert number not in page.content()
    assert IssuedNumber.objects.get().licence is None
    page.goto(f"{base}/admin/")
    page.context.clear_cookies()

    # The customer's administrator registers it from the licence list, at a phone's width.
    page.set_viewport_size({"width": 390, "height": 900})
    log_in(page, base, boss.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/centre/licences/")
    page.get_by_role("link", name="Register a product").first.click()
    expect(page).to_have_url(re.compile(r"/centre/licences/register/$"))
    expect(page.locator("input[name=customer_id]")).to_have_value("C-778899")  # prefilled: its own id
    page.fill("input[name=installation_number]", number.lower().replace("-", " "))
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/centre/licences/$"))
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Commerce Suite STANDARD")
    expect(row).to_contain_text("Registered after a partner")
    expect(row).to_contain_text(number)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    licence = Licence.objects.get()
    assert licence.source == Licence.Source.REGISTERED and licence.customer_id == customer.pk
    assert licence.purchase_date == sale and licence.support_ends_on == date(2026, 12, 15)  # SUP-2

    # Registering it again is harmless: it is already in the list.
    page.goto(f"{base}/centre/licences/register/")
    page.fill("input[name=installation_number]", number)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("main")).to_contain_text("already in your licence list")
    assert Licence.objects.count() == 1
    log_out(page)
