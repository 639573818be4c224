"""``kill -9`` of the worker (main process and pool children) in the middle of fulfilment (ALL-5, ESD-4, ESD-9)."""

from __future__ import annotations

import json
import time

import pytest

from orders.models import Order
from tests.conftest import wait_until
from tests.factories import make_product, stock

from .helpers import emails, keys_allocated, keys_available, ledger, place

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 400
# kill -9 as the number of fulfilled orders crosses these shares of ORDERS: every kill lands while the worker is
# busy however fast this machine is (a fixed "every few seconds" missed the end of the run on a fast one).
KILL_AT = (0.15, 0.35, 0.55, 0.75)
SWEEP = 3
CONCURRENCY = 2


def test_all5_esd4_esd9_worker_killed_repeatedly_loses_no_order_and_no_mail(faults, reseller, settings):
    """ALL-5, ESD-4, ESD-9, ESD-6: 400 single-key orders (the issue asks for 300-1000; 400 keeps the suite
    within its time budget on two cores) are fulfilled by a worker with embedded beat (sweeper every 3 s),
    which is ``kill -9``-ed together with its pool children 4 times, when 15, 35, 55 and 75 % of the orders are
    fulfilled (1-3 s after each restart here), and started again each time.

    Tasks are acknowledged late, so what a killed worker held stays unacknowledged in Redis (visibility timeout
    1 h): only the sweeper brings those orders back. Counted at the end: 400 orders fulfilled, 400 distinct keys
    allocated (exactly the 400 imported), every order line holds exactly its one key, one invoice and one
    ``fulfilled`` event per order, every customer got the welcome mail, and duplicate mails at most one per
    pool process per kill (only a kill between the SMTP server's "250" and recording it can cause one).
    """
    settings.ORDER_SWEEP_INTERVAL = SWEEP  # next_attempt_at of the orders placed here
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp()
    product = make_product()
    stock(product, ORDERS)
    addresses = emails("killed", ORDERS)
    ids = [place(reseller, address, [(product, 1)]).pk for address in addresses]
    # One wake-up waits in the queue for all of them (core.tasking.enqueue_coalesced_on_commit); each full
    # batch wakes the next worker as it starts, so a kill leaves the rest of the burst to the next wake-up.
    queued = [json.loads(m)["headers"]["task"] for m in broker.client().lrange(faults.queue, 0, -1)]
    assert queued.count("orders.tasks.fulfil_placed") == 1 and "orders.tasks.fulfil_order" not in queued

    worker = faults.worker(
        broker=broker,
        smtp=smtp,
        beat=True,
        concurrency=CONCURRENCY,
        ORDER_SWEEP_INTERVAL=SWEEP,
        EMAIL_TIMEOUT=2,  # a killed sender's claim on the mail lapses after 3 × 2 + 30 s
    )
    pending = Order.objects.filter(pk__in=ids).exclude(welcome_mail_status=Order.MailStatus.SENT)
    fulfilled = Order.objects.filter(pk__in=ids, status=Order.Status.FULFILLED)
    fulfilled_at_kill, seconds_after_ready = [], []
    for share in KILL_AT:
        wait_until(
            lambda s=share: fulfilled.count() >= s * ORDERS, timeout=120, interval=0.05, what="progress"
        )
        seconds_after_ready.append(round(time.monotonic() - worker.ready_at, 1))
        worker.kill9()
        fulfilled_at_kill.append(fulfilled.count())
        worker.kills += 1
        worker.start()
    kills = worker.kills
    assert kills == len(KILL_AT) and max(fulfilled_at_kill) < ORDERS, fulfilled_at_kill  # all mid-run

    wait_until(lambda: not pending.exists(), timeout=240, interval=1, what="every order fulfilled and mailed")
    wait_until(
        lambda: set(smtp.count_by_recipient()) == set(addresses), timeout=30, what="a mail for every customer"
    )

    counts = ledger(ids)
    assert counts["fulfilled"] == ORDERS
    assert counts["allocations"] == ORDERS and counts["distinct_keys"] == ORDERS
    assert counts["lines_wrong"] == 0 and counts["keys_foreign"] == 0
    assert keys_allocated(product) == ORDERS and keys_available(product) == 0
    assert counts["invoices"] == ORDERS and counts["fulfilled_events"] == ORDERS
    assert counts["mail_sent"] == ORDERS and counts["mail_sent_events"] == ORDERS

    mails = smtp.count_by_recipient()
    assert set(mails) == set(addresses)
    duplicates = sum(n - 1 for n in mails.values())
    print(
        f"kills {kills} at {seconds_after_ready}s after ready, fulfilled then {fulfilled_at_kill}, dups {duplicates}"
    )
    assert duplicates <= kills * CONCURRENCY, (duplicates, kills, fulfilled_at_kill)
