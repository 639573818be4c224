"""core/: what every app builds on (issue #12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction

from core.errors import DomainError, problem_of
from core.states import StateMachine
from core.tasking import _task, enqueue_on_commit
from orders.models import Order, OrderEvent
from orders.services import ORDER_STATES, OrderError, placement
from tests.conftest import run_concurrently
from tests.factories import place_order, stock

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "api", "catalog", "core", "locker", "orders", "portal", "webhooks"]


def test_every_task_a_service_names_is_a_registered_task():
    """Services enqueue tasks by name: each name in the code resolves to a Celery task (ALL-5)."""
    names = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            names |= set(re.findall(r'enqueue_on_commit\(\s*"([a-z_.]+)"', path.read_text()))
    assert len(names) >= 9
    for name in sorted(names):
        assert _task(name).name == name


def test_a_name_no_task_has_fails_at_once_not_after_commit():
    with pytest.raises(KeyError):
        enqueue_on_commit("orders.tasks.no_such_task", 1)


@pytest.mark.django_db(transaction=True)
def test_a_state_move_needs_the_callers_transaction(reseller, product):
    stock(product, 1)
    order = place_order(reseller, (product, 1), email="states@end.test")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    with pytest.raises(RuntimeError):
        ORDER_STATES.move(order, Order.Status.CANCELLED)


@pytest.mark.django_db
def test_a_move_the_table_does_not_allow_is_the_families_refusal(
    reseller, product, django_capture_on_commit_callbacks
):
    """ESD-10: a fulfilled order cannot be cancelled; the refusal is an OrderError with its API status."""
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(reseller, (product, 1), email="states2@end.test")
    order.refresh_from_db()
    with transaction.atomic(), pytest.raises(OrderError) as refused:
        ORDER_STATES.move(order, Order.Status.CANCELLED)
    assert refused.value.code == "invalid_transition" and refused.value.status == 409
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_domain_errors_carry_their_status_and_field_into_a_problem():
    class Refusal(DomainError):
        STATUS = {"busy": 409}

    body = problem_of(Refusal("busy", "Busy.", field="name"), "Refused.", body_fields={"name"})
    assert body["status"] == 409 and body["code"] == "busy" and body["detail"] == "Busy."
    assert body["errors"] == [{"field": "name", "message": "Busy.", "code": "busy"}]
    assert problem_of(Refusal("other", "No.", field="x"), "Refused.", body_fields={"name"})["errors"] == []
    assert Refusal("other", "No.").status == 422
    machine = StateMachine({"a": {"b"}, "b": set()}, refuse=lambda obj, to: Refusal("busy", "Busy."))
    assert machine.transitions["a"] == {"b"}


# A machine of the test's own over an order's welcome mail field: core.states is generic.
_LIGHT = StateMachine(
    {"not_sent": {"queued"}, "queued": {"sent"}, "sent": set(), "failed": set()},
    refuse=lambda obj, to: DomainError("no", "No."),
    field="welcome_mail_status",
)


def test_apply_checks_and_sets_a_move_without_saving_it():
    """ALL-3: ``apply`` is the table's check and the fields' setting, for a caller that saves a batch."""
    order = Order(welcome_mail_status="not_sent")
    assert _LIGHT.apply(order, "queued", welcome_mail_error="") == [
        "welcome_mail_status",
        "welcome_mail_error",
    ]
    assert order.welcome_mail_status == "queued" and order.pk is None
    with pytest.raises(DomainError):
        _LIGHT.apply(order, "not_sent")
    assert _LIGHT.sources("sent") == ["queued"] and _LIGHT.sources("not_sent") == []


@pytest.mark.django_db
def test_a_conditional_move_changes_a_row_only_from_a_state_the_table_allows(reseller, product):
    """ALL-3: ``move_row`` moves the row by one UPDATE only from a state the table lets go there, and writes
    the event only then, with the fields of the move."""
    order = place_order(reseller, (product, 1), email="row@end.test")
    Order.objects.filter(pk=order.pk).update(welcome_mail_status="queued")

    def event(at):
        return OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.WELCOME_MAIL_SENT, at=at)

    assert _LIGHT.move_row(Order, order.pk, "sent", event=event, welcome_mail_error="") is True
    assert _LIGHT.move_row(Order, order.pk, "sent", event=event) is False  # already there: not again
    assert _LIGHT.move_row(Order, order.pk + 1000, "sent", event=event) is False  # no such row
    order.refresh_from_db()
    assert order.welcome_mail_status == "sent"
    assert order.events.filter(kind="welcome_mail_sent").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_callers_racing_for_one_conditional_move_exactly_one_makes_it(reseller, product, monkeypatch):
    """ALL-3, ALL-5: real transactions on PostgreSQL: eight callers make the same move at the same moment;
    the database lets one UPDATE match, so the move and its event happen once."""
    monkeypatch.setattr(placement, "fulfilment_wake", lambda: None)  # no fulfilment task
    for i in range(5):
        order = place_order(reseller, (product, 1), email=f"race{i}@end.test")
        Order.objects.filter(pk=order.pk).update(welcome_mail_status="queued")

        def move(pk=order.pk):
            return _LIGHT.move_row(
                Order,
                pk,
                "sent",
                event=lambda at, pk=pk: OrderEvent.objects.create(
                    order_id=pk, kind="welcome_mail_sent", at=at
                ),
            )

        assert sorted(run_concurrently([move] * 8)) == [False] * 7 + [True]
        assert OrderEvent.objects.filter(order_id=order.pk, kind="welcome_mail_sent").count() == 1
