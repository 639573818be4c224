"""The worker's PostgreSQL connection terminated in the middle of fulfilment (ESD-4, ESD-5, ESD-6, ALL-5)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Allocation, Invoice, InvoiceSequence, Order, OrderEvent
from tests.conftest import wait_until
from tests.factories import make_product, stock

from .helpers import keys_allocated, keys_available, ledger, place

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _lockable_keys(product: object) -> int:
    """Keys of ``product`` no open transaction holds (row locks are invisible otherwise)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM locker_productkey WHERE product_id = %s FOR UPDATE SKIP LOCKED",
            [product.pk],  # type: ignore[attr-defined]
        )
        return len(cur.fetchall())


def _terminate(pid: int) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid = %s AND datname = current_database()",
            [pid],
        )
        assert cur.fetchone() == (True,)


def test_esd4_all5_connection_killed_mid_fulfilment_rolls_back_whole_and_retries(faults, reseller, settings):
    """ESD-4, ESD-5, ESD-6, ALL-5: an order of 3 + 2 keys (5 + 4 in stock). The test holds the invoice-number
    row locked, so the worker's fulfilment transaction stops inside ``invoices_issue`` after it has taken all
    5 keys, written the allocations and marked the order fulfilled. We see its 5 keys locked, then
    ``pg_terminate_backend`` its connection.

    Nothing of that attempt survives: while the retry waits on the same lock, the committed state shows the
    order placed, no allocation, all 9 keys available, no invoice, the invoice counter untouched. The task
    retries by itself (no beat here: autoretry on OperationalError), and once the lock is released the order
    ends fulfilled with exactly its 5 keys (3 and 2, of the right products), one invoice numbered next, one
    ``fulfilled`` event and one welcome mail.
    """
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp()
    win, office = make_product(), make_product()
    stock(win, 5)
    stock(office, 4)
    year = timezone.localtime(timezone.now()).year
    InvoiceSequence.objects.get_or_create(year=year)
    number_before = InvoiceSequence.objects.get(year=year).last_number
    lock = faults.hold_lock("SELECT * FROM orders_invoicesequence WHERE year = %s FOR UPDATE", (year,))
    worker = faults.worker(broker=broker, smtp=smtp, beat=False)

    order = place(reseller, "dropped@faults.test", [(win, 3), (office, 2)])
    first = wait_until(
        lambda: faults.backends_blocked_by(lock), timeout=30, what="fulfilment to reach the lock"
    )
    assert len(first) == 1
    assert _lockable_keys(win) == 2 and _lockable_keys(office) == 2  # its 5 keys taken, not committed
    _terminate(first[0])

    retry = wait_until(
        lambda: [pid for pid in faults.backends_blocked_by(lock) if pid != first[0]],
        timeout=30,
        what="the task to retry on a new connection and reach the lock again",
    )
    assert first[0] not in faults.backends_blocked_by(lock)
    # Committed state while the retry is inside its own transaction: the killed attempt left nothing.
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED
    assert Allocation.objects.filter(line__order=order).count() == 0
    assert keys_available(win) == 5 and keys_available(office) == 4
    assert not Invoice.objects.filter(order=order).exists()
    assert InvoiceSequence.objects.get(year=year).last_number == number_before
    assert not OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.FULFILLED).exists()
    assert len(retry) == 1

    faults.release(lock)
    wait_until(
        lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.SENT,
        timeout=60,
        what="the order to be fulfilled and mailed",
    )
    counts = ledger([order.pk])
    assert counts["fulfilled"] == 1 and counts["allocations"] == 5 and counts["distinct_keys"] == 5
    assert counts["lines_wrong"] == 0 and counts["keys_foreign"] == 0
    assert counts["invoices"] == 1 and counts["fulfilled_events"] == 1
    assert keys_allocated(win) == 3 and keys_available(win) == 2
    assert keys_allocated(office) == 2 and keys_available(office) == 2
    assert Invoice.objects.get(order=order).sequence == number_before + 1  # no gap from the killed attempt
    assert smtp.count_by_recipient() == {"dropped@faults.test": 1}
    # The retry came from the killed connection: psycopg reports the server's "terminating connection" or,
    # when the statement was bound on the server and the socket closed first, "the connection is closed".
    assert re.search(
        r"Retry in \d+s: OperationalError\('(terminating connection|the connection is closed)",
        worker.output(),
    )
