"""Steps a person takes in the browser, shared by the browser tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NEW_PASSWORD = "Quiet-Meadow-Falcon-93"
CUSTOMER = "anna.nowak@customer.test"


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    page.wait_for_load_state()


def log_in_staff(page: Any, base: str, staff: Any) -> None:
    """ESD-8: /admin/login/ is allauth's login, then the code of the staff user's authenticator app."""
    from playwright.sync_api import expect

    from tests.factories import DEFAULT_PASSWORD, fresh_totp_code, give_totp

    secret = give_totp(staff)
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=login]", staff.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    page.fill("input[name=code]", fresh_totp_code(secret, margin=10))
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(f"{base}/admin/")


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def mail_text(message: Any) -> str:
    return "\n".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
