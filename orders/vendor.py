"""The vendor gateway (ESD-4): where keys come from when the distributor's pool is short.

A real vendor integration implements ``VendorGateway``; this project ships a simulated vendor whose
delay and failure rate come from settings, so the whole path (request, transient failure, retry, import,
completion) runs here for real.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Protocol

from django.conf import settings

from catalog.models import Product


class VendorError(Exception):
    """The vendor refused for good (unknown product, account blocked): retrying will not help."""


class VendorTemporaryError(Exception):
    """The vendor could not answer now (timeout, 5xx, throttled): retry later."""


class VendorGateway(Protocol):
    def issue_keys(self, *, product: Product, quantity: int, reference: str) -> list[str]: ...


class SimulatedVendor:
    """Issues well-formed random keys after a delay, failing transiently at a configured rate."""

    def issue_keys(self, *, product: Product, quantity: int, reference: str) -> list[str]:
        if settings.VENDOR_SIM_DELAY:
            time.sleep(settings.VENDOR_SIM_DELAY)
        if (
            settings.VENDOR_SIM_FAILURE_RATE
            and secrets.randbelow(10_000) < settings.VENDOR_SIM_FAILURE_RATE * 10_000
        ):
            raise VendorTemporaryError("simulated vendor: service unavailable")
        alphabet = string.ascii_uppercase + string.digits
        return [
            "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))
            for _ in range(quantity)
        ]


class NoVendor:
    def issue_keys(self, *, product: Product, quantity: int, reference: str) -> list[str]:
        raise VendorError("no vendor gateway is configured (VENDOR_GATEWAY=none)")


def gateway() -> VendorGateway:
    if settings.VENDOR_GATEWAY == "simulated":
        return SimulatedVendor()
    if settings.VENDOR_GATEWAY == "none":
        return NoVendor()
    raise VendorError(f"unknown VENDOR_GATEWAY {settings.VENDOR_GATEWAY!r}")
