"""Fulfilment in batches: many placed orders in one transaction, each still whole or not at all."""

import smtplib

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from locker.models import ProductKey
from orders.models import Allocation, Invoice, Order, OrderEvent
from orders.services import orders_fulfil
from orders.tasks import fulfil_order, fulfil_placed
from tests.factories import make_product, stock
from tests.factories import place_order as place


def _batches_of_more_than_one_fail(monkeypatch) -> None:
    """A bug tripped by batching: issuing the invoices of more than one order raises; one order alone is
    invoiced as usual."""
    from orders.services import fulfilment, invoices

    real = invoices.invoices_issue

    def fails_for_batches(*, orders, lines=None):
        if len(orders) > 1:
            raise RuntimeError("boom")
        return real(orders=orders, lines=lines)

    monkeypatch.setattr(fulfilment, "invoices_issue", fails_for_batches)  # where fulfilment looks it up


@pytest.mark.django_db
def test_esd4_esd6_one_batch_fulfils_many_orders_with_constant_queries(reseller, product, product2):
    """ESD-4, ESD-6, ESD-9: one task fulfils 30 placed orders in one transaction: each order gets its own
    keys in its own customer's locker, its own invoice (numbers consecutive, no gap), its ``fulfilled`` and
    ``welcome_mail_queued`` events, and the whole batch costs the same number of queries as a batch of 3."""
    stock(product, 40)
    stock(product2, 60)
    orders = [
        place(reseller, (product, 1), (product2, i % 2 + 1), email=f"batch{i}@end.test") for i in range(33)
    ]

    with CaptureQueriesContext(connection) as small:
        outcome = orders_fulfil(order_id=orders[0].pk, batch=3, wait=False, enqueue_mail=False)
    assert len(outcome.to_mail) == 3 and outcome.status == Order.Status.FULFILLED
    with CaptureQueriesContext(connection) as big:
        outcome = orders_fulfil(order_id=orders[3].pk, batch=30, wait=False, enqueue_mail=False)
    assert len(outcome.to_mail) == 30 and outcome.to_mail[0] == orders[3].pk
    assert len(big.captured_queries) == len(small.captured_queries) <= 25

    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 33
    for order in Order.objects.select_related("end_customer"):
        keys = ProductKey.objects.filter(allocation__line__order=order)
        assert keys.count() == 1 + (order.lines.get(product=product2).quantity)
        assert set(keys.values_list("owner__email", flat=True)) == {order.end_customer_email}
        assert order.end_customer.email == order.end_customer_email
        assert order.welcome_mail_status == Order.MailStatus.QUEUED
        kinds = list(order.events.values_list("kind", flat=True))
        assert kinds == ["placed", "fulfilled", "welcome_mail_queued"]
    assert Allocation.objects.values("key").distinct().count() == Allocation.objects.count() == 33 + 49
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(sequences[0], sequences[0] + 33))
    invoice = Invoice.objects.get(order=orders[5])
    assert [(line.sku, line.quantity) for line in invoice.lines.order_by("id")] == [
        (product.sku, 1),
        (product2.sku, 2),
    ]


@pytest.mark.django_db
def test_all5_a_failing_wakeup_batch_hands_each_placed_order_its_own_task(
    reseller, product, monkeypatch, django_capture_on_commit_callbacks
):
    """ALL-5: a wake-up's batch that trips over something other than the database is rolled back whole,
    and every placed order it would have taken gets a task of its own (each then fulfilled alone if its
    batch trips too), so one bad order cannot hold the others up."""
    from orders import tasks
    from orders.services import orders_fulfil_placed

    stock(product, 3)
    orders = [place(reseller, (product, 1), email=f"w{i}@end.test") for i in range(3)]
    _batches_of_more_than_one_fail(monkeypatch)
    sent: list[int] = []
    monkeypatch.setattr(tasks.fulfil_order, "delay", lambda order_id: sent.append(order_id))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = orders_fulfil_placed(batch=10)
    assert outcome.to_mail == [] and sorted(sent) == sorted(o.pk for o in orders)
    assert set(Order.objects.values_list("status", flat=True)) == {"placed"}
    for order_id in sent:  # each task: its batch trips, then its order alone is fulfilled
        orders_fulfil(order_id=order_id, batch=10, wait=False, enqueue_mail=False)
    assert set(Order.objects.values_list("status", flat=True)) == {"fulfilled"}
    assert ProductKey.objects.filter(status="allocated").count() == 3


@pytest.mark.django_db
def test_esd5_esd15_batch_short_of_keys_serves_whole_orders_and_makes_no_account_for_waiters(reseller):
    """ESD-5, ESD-15: 5 keys, orders of 2, 2, 2 and 1 in one batch: the first two and the last are served
    whole, the third waits for exactly what it lacks, holds no key, and no locker account is made for its
    address; no key is left locked or handed out twice."""
    product = make_product(sku="SHORT-1")
    stock(product, 5)
    a, b, c, d = (place(reseller, (product, q), email=f"s{i}@end.test") for i, q in enumerate((2, 2, 2, 1)))

    outcome = orders_fulfil(order_id=a.pk, batch=10, wait=False, enqueue_mail=False)
    assert outcome.to_mail == [a.pk, b.pk, d.pk]
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in (a, b, c, d)] == ["fulfilled", "fulfilled", "awaiting_stock", "fulfilled"]
    assert Order.objects.get(pk=c.pk).events.get(kind="awaiting_stock").data == {"short": {"SHORT-1": 1}}
    assert not Allocation.objects.filter(line__order=c).exists()
    assert not User.objects.filter(email="s2@end.test").exists()
    assert ProductKey.objects.filter(product=product, status="allocated").count() == 5
    assert Allocation.objects.values("key").distinct().count() == 5


@pytest.mark.django_db
def test_esd15_two_orders_for_one_address_in_a_batch_share_one_locker_account(reseller, product):
    """ESD-15: all orders for one address land in one locker account, even within one batch."""
    stock(product, 2)
    first = place(reseller, (product, 1), email="Same@End.test")
    second = place(reseller, (product, 1), email="same@end.test")
    orders_fulfil(order_id=first.pk, batch=10, wait=False, enqueue_mail=False)
    assert User.objects.filter(email="same@end.test").count() == 1
    owners = set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("end_customer", flat=True))
    assert len(owners) == 1
    assert ProductKey.objects.filter(owner_id=owners.pop(), status="allocated").count() == 2


@pytest.mark.django_db
def test_all5_a_failing_batch_falls_back_to_the_requested_order_alone(reseller, product, monkeypatch):
    """ALL-5: a batch that trips over something other than the database is rolled back whole and the
    requested order is fulfilled alone, so one bad order cannot hold the others up."""
    stock(product, 3)
    orders = [place(reseller, (product, 1), email=f"f{i}@end.test") for i in range(3)]
    _batches_of_more_than_one_fail(monkeypatch)
    outcome = orders_fulfil(order_id=orders[1].pk, batch=10, wait=False, enqueue_mail=False)
    assert outcome.to_mail == [orders[1].pk]
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert [statuses[o.pk] for o in orders] == ["placed", "fulfilled", "placed"]
    assert ProductKey.objects.filter(status="allocated").count() == 1


@pytest.mark.django_db
def test_esd9_esd12_task_mails_the_batch_and_retries_only_the_refused_mail(
    reseller, product, monkeypatch, settings
):
    """ESD-9, ESD-12: the fulfilment task sends the welcome mails of its whole batch over one connection;
    one mail the server refuses for now keeps its order queued with the reason, the others are sent and
    recorded, and a retry is scheduled for the refused one only."""
    from orders import mail as order_mail
    from orders import tasks

    stock(product, 3)
    orders = [place(reseller, (product, 1), email=f"m{i}@end.test") for i in range(3)]
    real_send = order_mail._send

    def refuse_one(message):
        if message.to == ["m1@end.test"]:
            raise smtplib.SMTPDataError(451, b"try later")
        real_send(message)

    retries = []
    monkeypatch.setattr(order_mail, "_send", refuse_one)
    monkeypatch.setattr(
        tasks.send_welcome_mail, "apply_async", lambda args, countdown: retries.append((args, countdown))
    )
    assert fulfil_order.run(orders[0].pk) == Order.Status.FULFILLED

    assert sorted(m.to[0] for m in mail.outbox) == ["m0@end.test", "m2@end.test"]
    mail_status = dict(Order.objects.values_list("end_customer_email", "welcome_mail_status"))
    assert mail_status == {"m0@end.test": "sent", "m1@end.test": "queued", "m2@end.test": "sent"}
    refused = Order.objects.get(end_customer_email="m1@end.test")
    assert "451" in refused.welcome_mail_error and refused.welcome_mail_claimed_until is None
    assert retries == [((refused.pk,), float(settings.MAIL_RETRY_BASE_SECONDS))]  # first retry: the base gap
    assert OrderEvent.objects.filter(kind="welcome_mail_sent").count() == 2

    # A copy of the task for an order the batch already handled does nothing more.
    assert fulfil_order.run(orders[2].pk) == Order.Status.FULFILLED
    assert len(mail.outbox) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_esd4_a_task_whose_order_another_transaction_holds_returns_at_once(reseller, product, monkeypatch):
    """ESD-4, ALL-5: a copy of the fulfilment task whose order is locked by another transaction (a batch
    in progress) does not wait for it and changes nothing; the order is the lock holder's to finish."""
    import threading

    from django.db import connections, transaction

    from orders.services import placement

    stock(product, 1)
    monkeypatch.setattr(placement, "fulfilment_wake", lambda: None)  # autocommit: keep it placed
    order = place(reseller, (product, 1), email="held@end.test")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        outcome = orders_fulfil(order_id=order.pk, batch=10, wait=False, enqueue_mail=False)
        assert outcome.status is None and outcome.to_mail == []
    finally:
        release.set()
        holder.join()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED


@pytest.mark.django_db
def test_esd9_a_claim_near_its_end_releases_the_unsent_mails(
    reseller, product, monkeypatch, django_capture_on_commit_callbacks
):
    """ESD-9, ALL-5: if a slow SMTP server brings a batch's claim near its end, the mails not yet sent are
    released and queued on their own, never sent under a claim another sender may already have taken."""
    from datetime import timedelta

    from django.utils import timezone as real_timezone

    from orders import mail as order_mail
    from orders import tasks

    stock(product, 3)
    orders = [place(reseller, (product, 1), email=f"c{i}@end.test") for i in range(3)]
    orders_fulfil(order_id=orders[0].pk, batch=10, wait=False, enqueue_mail=False)
    base, offset = real_timezone.now(), [timedelta(0)]

    class Clock:
        @staticmethod
        def now():
            return base + offset[0]

    real_send = order_mail._send

    def slow_send(message):
        real_send(message)
        offset[0] = timedelta(seconds=31)  # the first mail took half a minute

    queued = []
    monkeypatch.setattr(order_mail, "timezone", Clock)
    monkeypatch.setattr(order_mail, "_send", slow_send)
    monkeypatch.setattr(tasks.send_welcome_mail, "delay", lambda pk: queued.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        sent, failures = order_mail.welcome_mails_send(order_ids=[o.pk for o in orders])

    assert sent == [orders[0].pk] and failures == {} and len(mail.outbox) == 1
    assert sorted(queued) == [orders[1].pk, orders[2].pk]
    rest = Order.objects.filter(pk__in=queued)
    assert all(o.welcome_mail_status == "queued" and o.welcome_mail_claimed_until is None for o in rest)


@pytest.mark.django_db
def test_esd4_all5_a_burst_of_placements_sends_one_wakeup_and_each_full_batch_wakes_the_next(
    reseller, product, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """ESD-4, ESD-9, ALL-5: 25 orders placed one after another (each its own transaction) while no worker
    runs send one wake-up, not 25 tasks. The wake-up fulfils a batch of 10 and, the batch being full, wakes
    the next worker at once; the third batch (5) is not full and wakes nobody. Every order is fulfilled
    whole and mailed once. An order placed after the last wake-up started sends a new one."""
    from core.kept import shared

    assert shared(), "CACHE_URL must name Redis for this test"
    settings.ORDER_FULFIL_BATCH = 10
    stock(product, 26)
    wakes: list[int] = []
    monkeypatch.setattr(fulfil_placed, "delay", lambda: wakes.append(1))
    orders = []
    for i in range(25):
        with django_capture_on_commit_callbacks(execute=True):
            orders.append(place(reseller, (product, 1), email=f"burst{i}@end.test"))
    assert len(wakes) == 1

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):  # tasks run here: the wake-up goes at commit
            return fulfil_placed.run()

    assert run() == 10
    assert len(wakes) == 2  # a full batch: the next worker is woken
    assert run() == 10
    assert len(wakes) == 3
    assert run() == 5
    assert len(wakes) == 3  # not full: nothing more waits
    assert run() == 0

    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 25
    assert Order.objects.filter(welcome_mail_status=Order.MailStatus.SENT).count() == 25
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"burst{i}@end.test" for i in range(25))
    assert Allocation.objects.values("key").distinct().count() == 25

    with django_capture_on_commit_callbacks(execute=True):
        place(reseller, (product, 1), email="later@end.test")
    assert len(wakes) == 4


@pytest.mark.django_db
def test_esd4_all5_tasks_run_in_process_a_burst_in_one_transaction_is_fulfilled_once(
    reseller, product, settings, django_capture_on_commit_callbacks
):
    """ESD-4, ESD-6, ALL-5: with no broker (tasks run in the caller's process), 25 orders placed in one
    transaction with batches of 10: the wake-ups run one after another at commit, never inside the batch
    that woke them (where its locked orders would look free). Each order is fulfilled once, with one key
    and one invoice, and mailed once."""
    from celery import current_app

    assert current_app.conf.task_always_eager
    settings.ORDER_FULFIL_BATCH = 10
    stock(product, 30)
    with django_capture_on_commit_callbacks(execute=True):
        orders = [place(reseller, (product, 1), email=f"eager{i}@end.test") for i in range(25)]
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 25
    assert Allocation.objects.count() == Allocation.objects.values("key").distinct().count() == 25
    assert Invoice.objects.count() == 25
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.FULFILLED).count() == 25
    assert sorted(m.to[0] for m in mail.outbox) == sorted(o.end_customer_email for o in orders)
