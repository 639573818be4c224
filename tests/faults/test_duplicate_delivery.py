"""The same task delivered five times at once to a worker with four pool processes (ALL-5, ESD-4, ESD-9)."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderEvent
from orders.services import order_fulfil
from orders.tasks import fulfil_order, send_welcome_mail
from tests.conftest import wait_until
from tests.factories import make_product, stock

from .helpers import keys_allocated, keys_available, ledger, place

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_all5_esd4_esd9_task_delivered_five_times_at_once_allocates_once_and_mails_once(faults, reseller):
    """ALL-5, ESD-4, ESD-9: the placements' wake-up, five copies of ``fulfil_order`` and five of
    ``send_welcome_mail`` queued before a 4-process worker starts, so four tasks run at the same moment.

    The SMTP server takes 1 s to answer DATA, so the mail copies overlap while the first holds its claim.
    Counted: keys allocated once (3 of the 6 in stock), one invoice, one ``fulfilled`` event, every copy ran
    (the worker log shows each task id succeeded), exactly one mail per order.
    """
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp(delay=1.0)
    win, office = make_product(), make_product()
    stock(win, 6)
    stock(office, 4)
    broker.client().delete(faults.queue)  # the imports' no-op retry_orders_for_products: not what is tested

    # Order B: fulfilled here, so only its welcome mail is left; five copies of the mail task queued.
    b = place(reseller, "twice-b@faults.test", [(office, 2)])
    order_fulfil(order_id=b.pk)  # enqueues send_welcome_mail once (after commit)
    for i in range(4):
        send_welcome_mail.apply_async(args=[b.pk], task_id=f"dup-mail-{b.pk}-{i}")
    # Order A: placed while B's wake-up waits in the queue (it stands for A too: no second one is sent), and
    # five copies of A's own task, as the sweeper or a re-delivery sends it.
    a = place(reseller, "twice-a@faults.test", [(win, 3)])
    for i in range(5):
        fulfil_order.apply_async(args=[a.pk], task_id=f"dup-fulfil-{a.pk}-{i}")
    # the placements' wake-up (it may take A), mail B ×5, fulfil A ×5: all waiting for the worker.
    assert broker.client().llen(faults.queue) == 1 + 5 + 5

    worker = faults.worker(broker=broker, smtp=smtp, concurrency=4)
    wait_until(
        lambda: (
            Order.objects.filter(pk__in=[a.pk, b.pk], welcome_mail_status=Order.MailStatus.SENT).count() == 2
        ),
        timeout=60,
        what="both orders to be fulfilled and mailed",
    )
    # Let every copy finish (each one's "succeeded" line) before counting.
    wait_until(
        lambda: all(
            f"[dup-{kind}-{pk}-{i}] succeeded" in worker.output()
            for kind, pk, copies in (("fulfil", a.pk, 5), ("mail", b.pk, 4))
            for i in range(copies)
        ),
        timeout=30,
        what="every duplicate to run",
    )
    wait_until(lambda: broker.client().llen(faults.queue) == 0, timeout=30, what="the queue to drain")

    counts = ledger([a.pk])
    assert counts["fulfilled"] == 1 and counts["allocations"] == 3 and counts["distinct_keys"] == 3
    assert counts["lines_wrong"] == 0 and counts["keys_foreign"] == 0
    assert counts["invoices"] == 1 and counts["fulfilled_events"] == 1
    assert keys_allocated(win) == 3 and keys_available(win) == 3
    assert keys_allocated(office) == 2 and keys_available(office) == 2

    mails = smtp.count_by_recipient()
    assert mails == {"twice-a@faults.test": 1, "twice-b@faults.test": 1}
    assert OrderEvent.objects.filter(order=b, kind=OrderEvent.Kind.WELCOME_MAIL_SENT).count() == 1
    assert Order.objects.get(pk=b.pk).welcome_mail_attempts == 1  # the losers never claimed it
