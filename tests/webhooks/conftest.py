"""Every webhook test runs behind the network guard: a fake DNS, and no connection beyond loopback."""

from __future__ import annotations

import pytest

from tests.webhooks.helpers import FakeDNS, guard_network


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    return guard_network(monkeypatch)
