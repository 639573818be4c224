"""core/: what every app builds on (issue #12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import transaction

from core.errors import DomainError, problem_of
from core.states import StateMachine
from core.tasking import _task, enqueue_on_commit
from orders.models import Order
from orders.services import ORDER_STATES, OrderError
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
