"""An SMTP server that refuses with 451 (ESD-9, ESD-12, ALL-5): retries with growing gaps, then a visible end."""

from __future__ import annotations

import time

import pytest
from django.db.models import Q

from orders.models import Order, OrderEvent, StaffAlert
from tests.conftest import wait_until
from tests.factories import make_product, stock

from .helpers import ledger, place

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]

SWEEP = 2


def test_esd12_all5_smtp_refusing_three_times_delivers_on_attempt_four_with_growing_gaps(
    faults, reseller, settings
):
    """ESD-12, ESD-9, ALL-5: the SMTP server answers 451 to the first 3 DATA commands; the worker has
    MAIL_RETRY_BASE_SECONDS=1 and embedded beat (sweeper every 2 s, which must not start a second retry chain).

    The mail is accepted on attempt 4, exactly 4 DATA commands arrive (also after two more sweeper intervals),
    the gaps between attempts grow (≈1 s, 2 s, 4 s: each at least its backoff, each longer than the one before),
    the order shows "sent" with no error, 4 attempts and one ``welcome_mail_sent`` event.
    """
    settings.ORDER_SWEEP_INTERVAL = SWEEP
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp(refusals=3)
    product = make_product()
    stock(product, 1)
    faults.worker(broker=broker, smtp=smtp, beat=True, ORDER_SWEEP_INTERVAL=SWEEP, MAIL_RETRY_BASE_SECONDS=1)
    order = place(reseller, "refused-thrice@faults.test", [(product, 1)])
    wait_until(
        lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.SENT,
        timeout=60,
        what="the welcome mail to go out",
    )
    time.sleep(2 * SWEEP + 1)  # a stray second retry chain or sweeper re-send would show up by now

    answers = [answer for _at, _rcpt, answer in smtp.attempts]
    assert answers == [451, 451, 451, 250]
    assert smtp.count_by_recipient() == {"refused-thrice@faults.test": 1}
    times = [at for at, _rcpt, _answer in smtp.attempts]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 and gaps[2] >= 3.9, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps
    assert gaps[2] < 4 + 3, gaps  # retried when due, not left to a much later sweep

    order.refresh_from_db()
    assert order.welcome_mail_attempts == 4 and order.welcome_mail_error == ""
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_SENT).count() == 1
    assert ledger([order.pk])["fulfilled"] == 1
    assert not StaffAlert.objects.exists()


def test_esd12_smtp_never_accepting_ends_failed_with_a_staff_alert(faults, reseller, settings):
    """ESD-12, ALL-5: an SMTP server that answers 451 for ever, MAIL_MAX_RETRIES=2, retries 1 s apart at first.

    Exactly MAIL_MAX_RETRIES + 1 = 3 DATA attempts, then the order's welcome mail is "failed" with the SMTP
    reason, one ``welcome_mail_failed`` event and one StaffAlert for staff; the sweeper (every 2 s) does not
    start it again (still 3 attempts two intervals later); the order itself stays fulfilled with its key.
    """
    settings.ORDER_SWEEP_INTERVAL = SWEEP
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp(refusals=10_000)
    product = make_product()
    stock(product, 1)
    faults.worker(
        broker=broker,
        smtp=smtp,
        beat=True,
        ORDER_SWEEP_INTERVAL=SWEEP,
        MAIL_RETRY_BASE_SECONDS=1,
        MAIL_MAX_RETRIES=2,
    )
    order = place(reseller, "never@faults.test", [(product, 1)])
    wait_until(
        lambda: Order.objects.get(pk=order.pk).welcome_mail_status == Order.MailStatus.FAILED,
        timeout=60,
        what="the welcome mail to fail for good",
    )
    time.sleep(2 * SWEEP + 1)

    assert [answer for _at, _rcpt, answer in smtp.attempts] == [451, 451, 451]
    assert smtp.messages == []
    order.refresh_from_db()
    assert order.welcome_mail_status == Order.MailStatus.FAILED and "Mailbox busy" in order.welcome_mail_error
    assert order.welcome_mail_attempts == 3 and order.next_attempt_at is None
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_FAILED).count() == 1
    alerts = StaffAlert.objects.filter(order_id=order.pk)
    assert alerts.count() == 1 and alerts.get().kind == "welcome_mail_failed"
    counts = ledger([order.pk])
    assert counts["fulfilled"] == 1 and counts["allocations"] == 1 and counts["invoices"] == 1


def test_esd9_all5_smtp_server_restarted_between_mails_next_mail_goes_out_at_once(faults, reseller, settings):
    """ESD-9, ALL-5: a worker process keeps its SMTP connection open between mails. The SMTP server is
    restarted (stopped, started again on the same port) between two orders; the second order's mail must go out
    on its first attempt (the stale connection is replaced), not after a failed attempt and a retry 30 s later.

    Counted: one mail per customer, the second order shows 1 attempt and no error, within 15 s.
    """
    broker = faults.redis()
    faults.use_broker(broker)
    smtp = faults.smtp()
    product = make_product()
    stock(product, 2)
    faults.worker(broker=broker, smtp=smtp, concurrency=1, MAIL_RETRY_BASE_SECONDS=30)
    first = place(reseller, "before-restart@faults.test", [(product, 1)])
    wait_until(
        lambda: Order.objects.get(pk=first.pk).welcome_mail_status == Order.MailStatus.SENT,
        timeout=30,
        what="the first mail",
    )
    again = faults.restart_smtp(smtp)
    time.sleep(0.5)

    second = place(reseller, "after-restart@faults.test", [(product, 1)])
    settled = Order.objects.filter(pk=second.pk).filter(
        Q(welcome_mail_status__in=[Order.MailStatus.SENT, Order.MailStatus.FAILED])
        | ~Q(welcome_mail_error="")
    )
    wait_until(settled.exists, timeout=15, what="the second mail to be sent or to fail an attempt")
    second.refresh_from_db()
    assert smtp.count_by_recipient() == {"before-restart@faults.test": 1}
    assert again.count_by_recipient() == {"after-restart@faults.test": 1}
    assert second.welcome_mail_status == Order.MailStatus.SENT
    assert second.welcome_mail_attempts == 1 and second.welcome_mail_error == ""
