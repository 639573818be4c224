"""Every webhook test runs behind the network guard: a fake DNS, and no connection beyond loopback."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.webhooks.helpers import FakeDNS, guard_network


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    # The portal's own cache connection (sessions, memberships) is opened first, so that ``lookups`` holds
    # only what the webhook code looked up.
    cache.get("webhooks-tests:connect")
    return guard_network(monkeypatch)
