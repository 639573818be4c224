"""The welcome mail's state machine (MAIL_STATES): what moves it records, and that copies of a sender racing
on PostgreSQL send and record each mail once (ESD-9, ESD-12, ESD-14, ALL-3, ALL-5)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from orders import mail as order_mail
from orders.models import Order, OrderEvent
from orders.services import (
    MAIL_STATES,
    OrderError,
    order_correct_email,
    order_fulfil,
    placement,
    welcome_mail_resend,
)
from tests.conftest import run_concurrently
from tests.factories import org_of, place_order, stock

M = Order.MailStatus


@pytest.fixture
def queued(reseller, product, monkeypatch):
    """Make ``n`` fulfilled orders whose welcome mail is queued and not yet sent (no task runs: with real
    commits the fulfilment task would send it)."""
    monkeypatch.setattr(placement, "fulfilment_wake", lambda: None)

    def make(n=1, prefix="m"):
        stock(product, n)
        orders = []
        for i in range(n):
            order = place_order(reseller, (product, 1), email=f"{prefix}{i}@end.test")
            order_fulfil(order_id=order.pk, enqueue_mail=False)
            orders.append(Order.objects.get(pk=order.pk))
        assert all(o.welcome_mail_status == M.QUEUED for o in orders)
        return orders

    return make


def _kinds(order):
    return list(order.events.values_list("kind", flat=True))


def test_all3_the_welcome_mails_table():
    """ALL-3: queued from any state (fulfilment, a resend), back to not sent from any (a correction), sent
    or failed only from queued."""
    assert set(MAIL_STATES.transitions) == set(M.values)
    assert MAIL_STATES.sources(M.SENT) == [M.QUEUED] and MAIL_STATES.sources(M.FAILED) == [M.QUEUED]
    assert set(MAIL_STATES.sources(M.QUEUED)) == set(M.values)
    assert set(MAIL_STATES.sources(M.NOT_SENT)) == set(M.values)


@pytest.mark.django_db
def test_esd9_each_move_records_the_event_it_always_recorded(reseller, queued, settings):
    """ESD-9, ESD-12: queued with the fulfilment (welcome_mail_queued), sent (welcome_mail_sent), queued
    again by a resend (welcome_mail_resent, with its actor), failed for good (welcome_mail_failed, with the
    reason); a correction resets it to not sent and records only the correction."""
    settings.ESD_CORRECTION_REVIEW = False  # the correction below applies at once
    [order] = queued()
    assert _kinds(order)[-1] == "welcome_mail_queued"
    assert order_mail.welcome_mail_send(order_id=order.pk) is True
    order.refresh_from_db()
    assert order.welcome_mail_status == M.SENT and order.welcome_mail_sent_at is not None
    assert order.welcome_mail_claimed_until is None and order.next_attempt_at is None
    assert _kinds(order)[-1] == "welcome_mail_sent"

    welcome_mail_resend(organisation=org_of(reseller), order_id=order.pk, actor=reseller)
    order.refresh_from_db()
    assert order.welcome_mail_status == M.QUEUED and order.welcome_mail_attempts == 0
    assert order.events.get(kind="welcome_mail_resent").actor == reseller

    order_mail.welcome_mail_failed(order_id=order.pk, reason="550 no such mailbox")
    order.refresh_from_db()
    assert order.welcome_mail_status == M.FAILED and order.welcome_mail_error == "550 no such mailbox"
    assert order.events.get(kind="welcome_mail_failed").data == {"reason": "550 no such mailbox"}

    before = order.events.count()
    order_correct_email(
        organisation=org_of(reseller), order_id=order.pk, actor=reseller, new_email="right@end.test"
    )
    order.refresh_from_db()
    assert order.welcome_mail_status == M.NOT_SENT and order.welcome_mail_error == ""
    assert _kinds(order)[before:] == ["corrected"]


@pytest.mark.django_db
def test_esd14_a_mail_neither_queued_nor_sent_is_not_recorded_sent_or_failed(queued):
    """ESD-14, ALL-3: once a correction stopped the mail (not sent), a late sender's record and a late
    give-up change nothing and record nothing: the table lets only a queued mail be sent or fail."""
    [order] = queued()
    Order.objects.filter(pk=order.pk).update(welcome_mail_status=M.NOT_SENT)
    events = order.events.count()
    assert order_mail._record_sent(order.pk) is False
    order_mail.welcome_mail_failed(order_id=order.pk, reason="late")
    order.refresh_from_db()
    assert order.welcome_mail_status == M.NOT_SENT and order.welcome_mail_error == ""
    assert order.events.count() == events
    assert order_mail.welcome_mail_send(order_id=order.pk) is False and mail.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_all5_senders_racing_on_the_same_mails_send_and_record_each_once(queued):
    """ALL-5, ESD-9: four copies of the sending task for the same three orders at the same moment, on real
    transactions: each mail goes out once and is recorded sent once (the claim, then MAIL_STATES' move)."""
    for round_ in range(5):
        orders = queued(n=3, prefix=f"r{round_}-")
        ids = [o.pk for o in orders]
        mail.outbox.clear()
        results = run_concurrently([lambda ids=ids: order_mail.welcome_mails_send(order_ids=ids)] * 4)
        sent = [pk for got, _failures in results for pk in got]
        assert sorted(sent) == sorted(ids), round_
        assert sorted(m.to[0] for m in mail.outbox) == sorted(o.end_customer_email for o in orders)
        for order in Order.objects.filter(pk__in=ids):
            assert order.welcome_mail_status == M.SENT
            assert order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_SENT).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_all5_two_senders_recording_the_same_mail_record_it_once(queued):
    """ALL-5, ALL-3: two senders that both got a mail out (a claim lapsed under a slow server) record it at
    the same moment: one conditional UPDATE matches, the other changes nothing and writes no event."""
    orders = queued(n=10, prefix="rec")
    for order in orders:
        outcomes = run_concurrently([lambda pk=order.pk: order_mail._record_sent(pk)] * 2)
        assert sorted(outcomes) == [False, True], outcomes
        assert order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_SENT).count() == 1
        assert Order.objects.get(pk=order.pk).welcome_mail_status == M.SENT


@pytest.mark.django_db
def test_a_move_the_mail_table_refuses_is_an_order_error(queued):
    """ALL-3: a welcome mail that was sent cannot fail; the refusal is the order family's."""
    [order] = queued()
    order_mail.welcome_mail_send(order_id=order.pk)
    order.refresh_from_db()
    with transaction.atomic(), pytest.raises(OrderError) as refused:
        MAIL_STATES.move(order, M.FAILED)
    assert refused.value.code == "invalid_transition"
