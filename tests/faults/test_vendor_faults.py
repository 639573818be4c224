"""The worker killed while it waits for the vendor (ESD-4, ESD-5, ALL-5)."""

from __future__ import annotations

import time

import pytest

from orders.models import Order, VendorRequest
from tests.conftest import wait_until
from tests.factories import make_product

from .helpers import keys_allocated, ledger, place, received

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]

SWEEP = 1
VENDOR_DELAY = 4
# The sweeper looks at an order awaiting stock every 10 intervals (orders.services._next_attempt), then the
# vendor takes VENDOR_DELAY; 3 more intervals and 8 s for the work on two cores.
PATIENCE = 10 * SWEEP + 3 * SWEEP + VENDOR_DELAY + 8


def test_esd5_all5_worker_killed_during_vendor_call_still_completes_the_order(faults, reseller, settings):
    """ESD-4, ESD-5, ALL-5: an order of 2 keys with an empty pool goes to "awaiting stock" and asks the
    simulated vendor (4 s per call). The worker (embedded beat, sweeper every 1 s) is ``kill -9``-ed while
    ``request_vendor_keys`` waits for the vendor, and started again.

    "A lost message costs a minute, not an order": within the sweeper's look at waiting orders (10 intervals)
    plus the vendor's delay and a small allowance (27 s in all), the vendor request is delivered, the order is
    fulfilled with exactly 2 keys (the vendor issued 2, not 4) and the customer has one welcome mail.
    """
    settings.ORDER_SWEEP_INTERVAL = SWEEP
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp()
    product = make_product()
    env = dict(ORDER_SWEEP_INTERVAL=SWEEP, VENDOR_GATEWAY="simulated", VENDOR_SIM_DELAY=VENDOR_DELAY)
    worker = faults.worker(broker=broker, smtp=smtp, beat=True, **env)

    order = place(reseller, "vendor-killed@faults.test", [(product, 2)])
    wait_until(
        lambda: received(worker.output(), "orders.tasks.request_vendor_keys"),
        timeout=30,
        what="the vendor request to start",
    )
    time.sleep(0.5)  # well inside the vendor's 4 s
    assert VendorRequest.objects.get(order=order).status == VendorRequest.Status.PENDING
    worker.kill9()
    worker.start()
    restarted = time.monotonic()

    try:
        wait_until(
            lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.SENT,
            timeout=PATIENCE,
            interval=0.5,
            what="the order to complete after the kill",
        )
    finally:
        print(f"waited {time.monotonic() - restarted:.1f}s; order {Order.objects.get(pk=order.pk).status}")
    request = VendorRequest.objects.get(order=order)
    assert request.status == VendorRequest.Status.DELIVERED and request.quantity == 2
    counts = ledger([order.pk])
    assert counts["fulfilled"] == 1 and counts["allocations"] == 2 and counts["distinct_keys"] == 2
    assert counts["lines_wrong"] == 0 and counts["keys_foreign"] == 0 and counts["invoices"] == 1
    assert keys_allocated(product) == 2
    assert smtp.count_by_recipient() == {"vendor-killed@faults.test": 1}
