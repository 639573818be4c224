"""After the happy path, in the browser: correction, resend, invoice; staff import keys with progress."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from locker.models import KeyImport, ProductKey
from orders.models import Order
from tests.e2e.helpers import ARTIFACTS, log_in, log_in_staff
from tests.factories import DEFAULT_PASSWORD, make_product, random_key, stock


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_esd14_esd12_esd6_correct_resend_and_invoice_in_the_browser(
    stack: Any, smtp_server: Any, page: Any, reseller: Any
) -> None:
    """ESD-14, ESD-12, ESD-6: fix a mistyped address, resend the welcome mail, download the invoice."""
    from playwright.sync_api import expect

    base = stack.url
    win = make_product("W81-PRO", name="Windows 8.1 Pro", unit_price="99.00")
    keys = stock(win, 2)
    log_in(page, base, reseller.email, DEFAULT_PASSWORD)
    page.goto(f"{base}/orders/new/")
    page.fill("#id_end_customer_email", "jan.kowalsky@typo.test")
    page.fill("#id_end_customer_email_confirmation", "jan.kowalsky@typo.test")
    page.select_option("#id_lines-0-product", value=str(win.pk))  # options also show price and stock (#13)
    page.get_by_role("button", name="Review order").click()  # the confirmation step (#13)
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#welcome-mail-status")).to_have_text(re.compile("Sent"), timeout=60_000)
    order = Order.objects.get()

    page.get_by_role("link", name="Correct the e-mail address").click()
    page.fill("#id_new_email", "jan.kowalski@customer.test")
    page.fill("#id_new_email_confirmation", "jan.kowalski@customer.test")
    page.get_by_role("button", name="Correct the address").click()
    expect(page.locator(".msg--success")).to_contain_text("Forgot password")
    expect(page.locator("#end-customer-email")).to_have_text("jan.kowalski@customer.test")
    assert ProductKey.objects.get(allocation__line__order=order).owner.email == "jan.kowalski@customer.test"

    page.get_by_role("button", name="Resend welcome mail").click()
    expect(page.locator("#welcome-mail-status")).to_have_text(re.compile("Sent"), timeout=60_000)
    smtp_server.wait_for(lambda m: m["To"] == "jan.kowalski@customer.test")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Invoice ESD")).click()
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"ESD/" in pdf
    page.screenshot(path=str(ARTIFACTS / "5-corrected-order.png"), full_page=True)
    for html in [page.content()] + [str(m) for m in smtp_server.messages]:
        assert all(k not in html for k in keys)


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_lock5_staff_import_keys_in_the_admin_with_progress(
    stack: Any, page: Any, staff: Any, tmp_path: Any
) -> None:
    """LOCK-5: staff upload a key file in the admin; a worker imports it and the page shows the result."""
    from playwright.sync_api import expect

    base = stack.url
    product = make_product("O365-BUS", name="Office 365 Business")
    existing = stock(product, 1)[0]
    fresh = [random_key() for _ in range(2000)]
    file = tmp_path / "keys.txt"
    file.write_text("\n".join([*fresh, existing, "garbage!"]) + "\n")

    log_in_staff(page, base, staff)
    page.goto(f"{base}/admin/catalog/product/")
    page.get_by_role("link", name="Import keys").first.click()
    page.set_input_files("input[name=file]", str(file))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("progress")).to_be_visible()
    expect(page.locator(".field-status")).to_contain_text("Done", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "6-key-import.png"), full_page=True)
    job = KeyImport.objects.get()
    assert (job.imported, job.duplicates, job.malformed) == (2000, 1, 1)
    assert job.duplicate_lines == [2001] and job.malformed_lines == [2002]
    assert ProductKey.objects.filter(product=product).count() == 2001
    assert all(k not in page.content() for k in fresh[:100])
