"""A reseller integrates from the portal and the docs alone: token, idempotent order, signed webhook."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from orders.models import Order
from tests.api.test_webhooks import Receiver, _verify_as_documented
from tests.conftest import wait_until
from tests.factories import DEFAULT_PASSWORD, make_product, stock

from .helpers import ARTIFACTS, log_in


@pytest.fixture
def allow_loopback(settings: Any) -> Iterator[Receiver]:
    """A receiver on loopback, let through as a webhook target by its exact address and port; made before
    the worker starts, which reads WEBHOOK_ALLOWED_TARGETS from its environment."""
    receiver = Receiver()
    settings.WEBHOOK_ALLOWED_TARGETS = [receiver.target]
    yield receiver
    receiver.server.server_close()


@pytest.mark.browser
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_integrate_token_idempotent_order_and_signed_webhook(
    allow_loopback: Receiver, stack: Any, page: Any, reseller: Any
) -> None:
    """ESD-2, ESD-7: create a token and a webhook in the browser, order over the API with an idempotency
    key (sent twice), receive order.fulfilled and verify its signature with the documented recipe."""
    from playwright.sync_api import expect

    base = stack.url
    keys = stock(make_product("W81-PRO", name="Windows 8.1 Pro"), 2)
    with allow_loopback as receiver:
        log_in(page, base, reseller.email, DEFAULT_PASSWORD)
        page.get_by_role("link", name="API tokens").click()
        page.fill("input[name=name]", "Web shop")
        page.get_by_role("button", name="Create token").click()
        token = page.locator("#token-value").inner_text().strip()
        page.get_by_role("link", name="Webhooks").click()
        page.fill("input[name=url]", receiver.url)
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#secret-value").inner_text().strip()
        page.goto(f"{base}/api/v1/docs/")
        expect(page.locator(".swagger-ui")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "7-api-docs.png"))

        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        body = {
            "end_customer_email": "shop.buyer@customer.test",
            "lines": [{"sku": "W81-PRO", "quantity": 2}],
        }
        first = requests.post(f"{base}/api/v1/orders/", json=body, headers=headers, timeout=30)
        again = requests.post(f"{base}/api/v1/orders/", json=body, headers=headers, timeout=30)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        assert Order.objects.count() == 1

        def fulfilled_hook() -> Any:
            for hook_headers, raw in receiver.requests:
                if hook_headers.get("Portal-Event-Type") == "order.fulfilled":
                    return hook_headers, raw
            return None

        hook_headers, raw = wait_until(fulfilled_hook, timeout=60, what="the order.fulfilled webhook")
    assert _verify_as_documented(secret, hook_headers["Portal-Signature"], raw)
    event = json.loads(raw)
    assert (
        event["data"]["order"]["id"] == first.json()["id"] and event["data"]["order"]["status"] == "fulfilled"
    )
    detail = requests.get(f"{base}/api/v1/orders/{first.json()['id']}/", headers=headers, timeout=30)
    assert detail.json()["status"] == "fulfilled"
    for text in (raw.decode(), detail.text, first.text):
        assert not any(k in text for k in keys)
    assert re.match(r"^rp_", token) and secret.startswith("whsec_")
