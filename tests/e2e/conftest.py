"""Fixtures for the browser tests: a live server and a real worker sharing one SMTP catcher, and Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.conftest import CHROMIUM


@pytest.fixture
def stack(live_server: Any, settings: Any, smtp_server: Any, request: pytest.FixtureRequest) -> Any:
    """Live server and worker agree on the base URL and send mail to the same SMTP catcher."""
    settings.PORTAL_BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    request.getfixturevalue("celery_worker")
    return live_server


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with nothing of its own reaching out (the machine's network is closed)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    )


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is used between (not during) browser steps
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(30_000)
        pg = context.new_page()
        try:
            yield pg
        finally:
            context.close()
            browser.close()
            # The ORM calls made between browser steps ran inside Playwright's context and opened a
            # connection of their own; close it so the test database can be dropped.
            connections.close_all()
