"""What can be done with an order: one selector (orders.selectors.order_actions) over the rules the services
refuse with (orders.rules), shown by the order page and the API alike (ESD-6, ESD-10, ESD-12, ESD-14)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from api.services import api_token_create
from locker.models import ProductKey
from locker.services import key_reveal
from orders.models import EmailCorrection, Order
from orders.selectors import order_actions, order_detail
from orders.services import OrderError, order_cancel, order_correct_email, welcome_mail_resend
from tests.factories import org_of, place_order, stock

ACTIONS = ("resend_welcome_mail", "correct_email", "cancel", "download_invoice")

# The orders' states, and what each allows: True, or the refusal's code.
EXPECTED: dict[str, dict[str, bool | str]] = {
    "placed": {
        "resend_welcome_mail": "not_fulfilled",
        "correct_email": True,
        "cancel": "not_cancellable",
        "download_invoice": "not_invoiced",
    },
    "awaiting_stock": {
        "resend_welcome_mail": "not_fulfilled",
        "correct_email": True,
        "cancel": True,
        "download_invoice": "not_invoiced",
    },
    "fulfilled": {
        "resend_welcome_mail": True,
        "correct_email": True,
        "cancel": "not_cancellable",
        "download_invoice": True,
    },
    "fulfilled_key_revealed": {
        "resend_welcome_mail": True,
        "correct_email": "correction_refused",
        "cancel": "not_cancellable",
        "download_invoice": True,
    },
    "fulfilled_correction_pending": {
        "resend_welcome_mail": "correction_pending",
        "correct_email": "correction_pending",
        "cancel": "not_cancellable",
        "download_invoice": True,
    },
    "cancelled": {
        "resend_welcome_mail": "not_fulfilled",
        "correct_email": "correction_refused",
        "cancel": "not_cancellable",
        "download_invoice": "not_invoiced",
    },
}


def _make(state: str, reseller: Any, product: Any, capture: Any, settings: Any) -> Order:
    """An order of ``reseller`` in ``state``, made the way it happens (services, tasks after commit)."""
    email = f"{state.replace('_', '-')}@end.test"
    if state == "placed":
        return place_order(reseller, (product, 1), email=email)  # its fulfilment task never ran
    if state in ("awaiting_stock", "cancelled"):
        with capture(execute=True):
            order = place_order(reseller, (product, 5), email=email)
        if state == "cancelled":
            order_cancel(organisation=org_of(reseller), order_id=order.pk, actor=reseller)
        return Order.objects.get(pk=order.pk)
    stock(product, 1)
    with capture(execute=True):
        order = place_order(reseller, (product, 1), email=email)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.welcome_mail_status == Order.MailStatus.SENT
    if state == "fulfilled_key_revealed":
        key = ProductKey.objects.get(owner=order.end_customer)
        key_reveal(key_id=key.pk, user=order.end_customer, ip=None, user_agent="t")
    elif state == "fulfilled_correction_pending":
        settings.ESD_CORRECTION_REVIEW = True  # after the welcome mail went out: staff review it
        correction = order_correct_email(
            organisation=org_of(reseller), order_id=order.pk, actor=reseller, new_email="new@end.test"
        )
        assert correction.status == EmailCorrection.Status.PENDING_REVIEW
    return order


def _actions(reseller: Any, order: Order) -> Any:
    return order_actions(order_detail(organisation=org_of(reseller), order_id=order.pk))


def _as_expected(actions: Any) -> dict[str, bool | str]:
    got: dict[str, bool | str] = {}
    for name in ACTIONS:
        action = getattr(actions, name)
        assert action.allowed == (action.code is None) == (action.reason is None), (name, action)
        got[name] = True if action.allowed else str(action.code)
    return got


@pytest.fixture
def make(reseller, product, django_capture_on_commit_callbacks, settings):
    return lambda state: _make(state, reseller, product, django_capture_on_commit_callbacks, settings)


# --- the selector, rule by rule ------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd12_resend_is_offered_once_fulfilled_and_not_while_a_correction_waits(make, reseller):
    """ESD-12: the welcome mail can be sent again once the order is fulfilled (whether the mail went out, is
    queued or failed); ESD-14: not while a correction waits for staff, since no mail goes out meanwhile."""
    for state in EXPECTED:
        order = make(state)
        assert (
            _as_expected(_actions(reseller, order))["resend_welcome_mail"]
            == (EXPECTED[state]["resend_welcome_mail"])
        ), state
    failed = make("fulfilled")
    Order.objects.filter(pk=failed.pk).update(welcome_mail_status=Order.MailStatus.FAILED)
    assert _actions(reseller, failed).resend_welcome_mail.allowed


@pytest.mark.django_db
def test_esd14_correction_is_offered_until_the_mail_was_used_and_says_why_not(make, reseller):
    """ESD-14: the address may be corrected before fulfilment and after it while nobody used the mail; a
    revealed key or a used locker account refuses it with the reason; one correction waits at a time."""
    orders = {state: make(state) for state in EXPECTED}
    for state, order in orders.items():
        assert _as_expected(_actions(reseller, order))["correct_email"] == EXPECTED[state]["correct_email"], (
            state
        )
    revealed = _actions(reseller, orders["fulfilled_key_revealed"]).correct_email
    assert "revealed" in revealed.reason
    used = orders["fulfilled"]
    type(used.end_customer).objects.filter(pk=used.end_customer_id).update(last_login=timezone.now())
    used_account = _actions(reseller, used).correct_email
    assert used_account.code == "correction_refused" and "can no longer be corrected" in used_account.reason
    pending = _actions(reseller, orders["fulfilled_correction_pending"])
    assert pending.pending_correction is not None and pending.pending_correction.to_email == "new@end.test"


@pytest.mark.django_db
def test_esd10_cancel_is_offered_only_while_awaiting_stock(make, reseller):
    """ESD-10: ESD products cannot be returned: only an order still waiting for stock can be cancelled."""
    for state in EXPECTED:
        assert _as_expected(_actions(reseller, make(state)))["cancel"] == EXPECTED[state]["cancel"], state


@pytest.mark.django_db
def test_esd6_the_invoice_is_offered_if_and_only_if_the_order_was_fulfilled(make, reseller):
    """ESD-6: an invoice exists if and only if the order was fulfilled, and only then is it offered."""
    for state in EXPECTED:
        order = make(state)
        offered = _actions(reseller, order).download_invoice.allowed
        assert offered == (EXPECTED[state]["download_invoice"] is True), state
        assert offered == (Order.objects.get(pk=order.pk).status == Order.Status.FULFILLED), state


@pytest.mark.django_db
def test_the_services_refuse_with_the_selectors_code_and_reason(make, reseller):
    """ESD-10, ESD-12, ESD-14: what the selector refuses the service refuses, in the same words; what it
    allows the service does."""
    org = org_of(reseller)
    calls = {
        "resend_welcome_mail": lambda o: welcome_mail_resend(organisation=org, order_id=o.pk, actor=reseller),
        "correct_email": lambda o: order_correct_email(
            organisation=org, order_id=o.pk, actor=reseller, new_email="fixed@end.test"
        ),
        "cancel": lambda o: order_cancel(organisation=org, order_id=o.pk, actor=reseller),
    }
    for state in EXPECTED:
        order = make(state)
        actions = _actions(reseller, order)
        for name, call in calls.items():
            action = getattr(actions, name)
            with transaction.atomic():
                try:
                    call(order)
                except OrderError as refused:
                    assert (refused.code, refused.message) == (action.code, action.reason), (state, name)
                else:
                    assert action.allowed, (state, name)
                transaction.set_rollback(True)


# --- the page, the view and the API agree -------------------------------------------------------------
def _api(reseller: Any) -> APIClient:
    client = APIClient()
    _record, token = api_token_create(organisation=org_of(reseller), user=reseller, name="actions")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _rolled_back(do: Any) -> Any:
    with transaction.atomic():
        result = do()
        transaction.set_rollback(True)
    return result


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(EXPECTED))
def test_esd6_esd10_esd12_esd14_page_views_and_api_agree_with_the_selector(state, make, reseller, client):
    """For an order in each state: the order page shows exactly the buttons the selector allows; the web
    actions and the API's do exactly what it allows and refuse the rest with its reason and code; the API's
    ``actions`` are the selector's."""
    order = make(state)
    actions = _actions(reseller, order)
    assert _as_expected(actions) == EXPECTED[state]
    client.force_login(reseller)
    api = _api(reseller)

    # The page: a button (its URL) for each allowed action, none for the others.
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    urls = {
        "resend_welcome_mail": reverse("orders:resend_welcome", args=[order.pk]),
        "correct_email": reverse("orders:correct_email", args=[order.pk]),
        "cancel": reverse("orders:cancel", args=[order.pk]),
        "download_invoice": reverse("orders:invoice_pdf", args=[order.pk]),
    }
    for name, url in urls.items():
        assert (f'"{url}"' in page) == getattr(actions, name).allowed, (state, name)

    # The API's representation carries the same actions.
    body = api.get(f"/api/v1/orders/{order.pk}/").json()
    assert body["actions"] == {
        name: {
            "allowed": getattr(actions, name).allowed,
            "code": getattr(actions, name).code,
            "reason": getattr(actions, name).reason,
        }
        for name in ACTIONS
    }
    assert (body["invoice"] is not None) == actions.download_invoice.allowed
    assert (body["pending_correction"] is not None) == (actions.pending_correction is not None)

    # The web actions: done when allowed, else refused with the selector's reason.
    web = {
        "resend_welcome_mail": lambda: client.post(urls["resend_welcome_mail"], follow=True),
        "cancel": lambda: client.post(urls["cancel"], follow=True),
        "correct_email": lambda: client.post(
            urls["correct_email"],
            {"new_email": "fixed@end.test", "new_email_confirmation": "fixed@end.test"},
            follow=True,
        ),
    }
    for name, send in web.items():
        action = getattr(actions, name)
        html = _rolled_back(send).content.decode()
        if action.allowed:
            assert "msg--success" in html and "msg--error" not in html, (state, name)
        elif name == "correct_email" and action.code == "correction_pending":
            assert 'id="correction-pending"' in html and "msg--success" not in html, state  # the page says so
        else:
            assert escape(action.reason) in html and "msg--success" not in html, (state, name)
    invoice = client.get(urls["download_invoice"])
    assert (invoice.status_code == 200) == actions.download_invoice.allowed
    assert invoice.status_code in (200, 404)

    # The API's actions: 2xx when allowed, else the selector's code.
    endpoints = {
        "resend_welcome_mail": ("resend-welcome-mail", {}),
        "cancel": ("cancel", {}),
        "correct_email": ("correct-email", {"new_email": "fixed@end.test"}),
    }
    for name, (path, payload) in endpoints.items():
        action = getattr(actions, name)
        answer = _rolled_back(
            lambda p=path, b=payload: api.post(f"/api/v1/orders/{order.pk}/{p}/", b, format="json")
        )
        if action.allowed:
            assert answer.status_code in (200, 202), (state, name, answer.content)
        else:
            assert answer.status_code == 409, (state, name, answer.content)
            assert (answer.json()["code"], answer.json()["detail"]) == (action.code, action.reason)
