"""Issue #11 item 4: one locker account holds every reseller's orders for its address (ESD-15), and one
reseller's action neither changes what another reseller's order sent (ESD-12) nor shows it facts that came
from the other's orders; a refusal that depends on the account (ESD-14) tells nothing of them either."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.http import int_to_base36
from rest_framework.test import APIClient

from api.services import api_token_create
from locker.models import ProductKey
from locker.services import key_reveal
from orders.mail import set_password_url
from orders.models import Order, OrderEvent
from orders.services import OrderError, order_correct_email, welcome_mail_resend
from tests.factories import org_of, place_order, stock

EMAIL = "shared@customer.test"
NEW_PASSWORD = "Amber-Window-Castle-77"
LINK = re.compile(r"https?://\S+/accounts/password/reset/key/\S+")


def _deliver(reseller: Any, product: Any, capture: Any) -> tuple[Order, str]:
    """An order fulfilled for EMAIL and the set-password link its welcome mail carried ("" once the account
    has a password: the mail then says to log in)."""
    stock(product, 1)
    mail.outbox.clear()
    with capture(execute=True):
        order = place_order(reseller, (product, 1), email=EMAIL)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    [message] = mail.outbox
    match = LINK.search(message.body)
    return order, match.group(0) if match else ""


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _link_works(url: str) -> bool:
    html = Client().get(_path(url), follow=True).content.decode()
    return 'name="password1"' in html


def _set_password_through(url: str) -> None:
    client = Client()
    response = client.get(_path(url), follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"email": EMAIL, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def _sign_in() -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": EMAIL, "password": NEW_PASSWORD})
    assert response.status_code == 302
    return client


def _resend(order: Order, reseller: Any, capture: Any) -> str:
    mail.outbox.clear()
    with capture(execute=True):
        welcome_mail_resend(organisation=org_of(reseller), order_id=order.pk, actor=reseller)
    [message] = mail.outbox
    return LINK.search(message.body).group(0)


@pytest.mark.django_db
def test_esd12_esd15_one_resellers_resend_leaves_the_other_resellers_link_alive(
    reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """B's resend kills B's previous link only: A's welcome link, and a reset link the customer asked for
    (per account), still open the set-password form."""
    order_a, link_a = _deliver(reseller, product, django_capture_on_commit_callbacks)
    order_b, link_b = _deliver(other_reseller, product, django_capture_on_commit_callbacks)
    assert link_a and link_b
    assert order_a.end_customer_id == order_b.end_customer_id  # ESD-15: one locker
    account = order_a.end_customer
    reset_link = set_password_url(account)  # what "forgot password" mails: the account's own link
    assert link_a != link_b and all(_link_works(u) for u in (link_a, link_b, reset_link))

    fresh_b = _resend(order_b, other_reseller, django_capture_on_commit_callbacks)

    assert not _link_works(link_b)
    assert _link_works(fresh_b)
    assert _link_works(link_a)
    assert _link_works(reset_link)

    # The customer sets the password from A's link: every link dies (the password changed).
    _set_password_through(link_a)
    assert not any(_link_works(u) for u in (fresh_b, reset_link, set_password_url(account, order_a)))


@pytest.mark.django_db
def test_esd14_esd15_a_correction_kills_its_own_order_links_and_the_reset_links_not_the_others(
    reseller, other_reseller, product, django_capture_on_commit_callbacks, settings
):
    settings.ESD_CORRECTION_REVIEW = False
    order_a, link_a = _deliver(reseller, product, django_capture_on_commit_callbacks)
    order_b, link_b = _deliver(other_reseller, product, django_capture_on_commit_callbacks)
    reset_link = set_password_url(order_a.end_customer)
    with django_capture_on_commit_callbacks(execute=True):
        order_correct_email(
            organisation=org_of(other_reseller),
            order_id=order_b.pk,
            actor=other_reseller,
            new_email="right@other-customer.test",
        )
    assert not _link_works(link_b)
    assert not _link_works(reset_link)  # ESD-14: every reset link sent to the old address
    assert _link_works(link_a)  # A's order still goes there, and its link stays


@pytest.mark.django_db
def test_an_order_link_opens_only_its_own_account_and_only_while_the_order_goes_there(
    reseller, product, django_capture_on_commit_callbacks, settings
):
    settings.ESD_CORRECTION_REVIEW = False
    order, link = _deliver(reseller, product, django_capture_on_commit_callbacks)
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        stranger_order = place_order(reseller, (product, 1), email="stranger@else.test")
    # The same signature with the order part naming another account's order: refused.
    forged = re.sub(r"-o[0-9a-z]+\.", f"-o{int_to_base36(stranger_order.pk)}.", link)
    assert forged != link and not _link_works(forged)
    with django_capture_on_commit_callbacks(execute=True):
        order_correct_email(
            organisation=org_of(reseller),
            order_id=order.pk,
            actor=reseller,
            new_email="moved@customer.test",
        )
    assert not _link_works(link)


@pytest.mark.django_db
def test_esd15_the_second_resellers_pages_show_only_what_followed_its_own_delivery(
    client, reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """The customer set a password and signed in because of A's order; then B delivers. B's page and API
    show nothing of that (no password date, not signed in) until the customer signs in after B's delivery;
    A's show both."""
    order_a, link_a = _deliver(reseller, product, django_capture_on_commit_callbacks)
    _set_password_through(link_a)
    _sign_in()
    order_a.refresh_from_db()
    assert order_a.customer_password_set_at and order_a.customer_signed_in_at
    password_date = order_a.customer_password_set_at

    order_b, _ = _deliver(other_reseller, product, django_capture_on_commit_callbacks)
    api_b = APIClient()
    api_b.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=org_of(other_reseller), user=other_reseller, name='b')[1]}"
    )
    delivery = api_b.get(reverse("api:order-detail", args=[order_b.pk])).json()["delivery"]
    assert delivery["password_set_at"] is None and delivery["signed_in_at"] is None
    client.force_login(other_reseller)
    html = client.get(reverse("orders:detail", args=[order_b.pk])).content.decode()
    tracker = re.search(r'id="customer-signed-in">(.*?)</li>', html, re.S).group(1)
    assert "Not yet" in tracker and "Password set" not in tracker
    assert not order_b.events.filter(kind=OrderEvent.Kind.CUSTOMER_PASSWORD_SET).exists()

    _sign_in()  # after B's delivery: now it is B's fact too
    order_b.refresh_from_db()
    assert order_b.customer_signed_in_at is not None and order_b.customer_password_set_at is None
    delivery = api_b.get(reverse("api:order-detail", args=[order_b.pk])).json()["delivery"]
    assert delivery["signed_in_at"] is not None and delivery["password_set_at"] is None
    assert order_b.events.filter(kind=OrderEvent.Kind.CUSTOMER_SIGNED_IN).count() == 1
    # A's order keeps its first sign-in; signing in again records nothing more.
    order_a.refresh_from_db()
    assert order_a.customer_password_set_at == password_date
    assert order_a.events.filter(kind=OrderEvent.Kind.CUSTOMER_SIGNED_IN).count() == 1


@pytest.mark.django_db
def test_esd14_esd15_a_refusal_from_account_facts_says_nothing_of_other_resellers_orders(
    client, reseller, other_reseller, product, django_capture_on_commit_callbacks
):
    """B may not correct an address whose locker is in use (ESD-14), but the reason, in the service, the
    page and the API, names neither a password, a sign-in, a date nor a key of A's order; once the customer
    acted after B's own delivery, B is told that."""
    order_a, link_a = _deliver(reseller, product, django_capture_on_commit_callbacks)
    _set_password_through(link_a)
    customer = order_a.end_customer  # the customer opens A's key
    key = ProductKey.objects.filter(owner=customer).first()
    key_reveal(key_id=key.pk, user=customer, ip="198.51.100.7", user_agent="test")

    order_b, _ = _deliver(other_reseller, product, django_capture_on_commit_callbacks)
    with pytest.raises(OrderError) as refused:
        order_correct_email(
            organisation=org_of(other_reseller),
            order_id=order_b.pk,
            actor=other_reseller,
            new_email="right@other-customer.test",
        )
    reason = refused.value.message
    assert refused.value.code == "correction_refused"
    for leak in ("password", "logged", "signed", "revealed", "opened", "key", str(order_a.pk)):
        assert leak not in reason.lower(), reason
    client.force_login(other_reseller)
    page = client.get(reverse("orders:detail", args=[order_b.pk])).content.decode()
    assert reason.replace("'", "&#x27;") in page
    api_b = APIClient()
    api_b.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=org_of(other_reseller), user=other_reseller, name='b')[1]}"
    )
    answer = api_b.post(
        reverse("api:order-correct-email", args=[order_b.pk]),
        {"new_email": "right@other-customer.test"},
        format="json",
    ).json()
    assert answer["code"] == "correction_refused" and "password" not in answer["detail"].lower()

    # The customer signs in after B's delivery: the reason is the same, so B cannot tell "used before my
    # order" from "used since" (B's tracker shows the sign-in, which is B's to know).
    c = Client()
    assert c.post(reverse("account_login"), {"login": EMAIL, "password": NEW_PASSWORD}).status_code == 302
    with pytest.raises(OrderError) as again:
        order_correct_email(
            organisation=org_of(other_reseller),
            order_id=order_b.pk,
            actor=other_reseller,
            new_email="right@other-customer.test",
        )
    assert again.value.message == reason


@pytest.mark.django_db(transaction=True)
def test_esd7_a_reveal_committed_for_real_records_keys_accessed_on_the_order(reseller, product):
    """ESD-7: the reseller sees that the customer opened the keys. The record is written by a receiver
    that runs after the reveal's transaction commits (outside any transaction), here with real commits."""
    stock(product, 1)
    order = place_order(reseller, (product, 1), email="committed@customer.test")  # eager tasks, real commits
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    key = ProductKey.objects.get(owner=order.end_customer)
    key_reveal(key_id=key.pk, user=order.end_customer, ip="198.51.100.9", user_agent="test")
    order.refresh_from_db()
    assert order.keys_accessed_at is not None
    assert order.events.filter(kind=OrderEvent.Kind.KEYS_ACCESSED).count() == 1


@pytest.mark.django_db
def test_an_order_link_is_bound_to_its_order_within_the_same_account(
    reseller, product, django_capture_on_commit_callbacks
):
    """Two orders for one account: the signature covers the order, so the link of one with the other's id
    in it is refused (and a resend of the other does not make it valid)."""
    order_a, link_a = _deliver(reseller, product, django_capture_on_commit_callbacks)
    order_b, link_b = _deliver(reseller, product, django_capture_on_commit_callbacks)
    assert order_a.end_customer_id == order_b.end_customer_id and link_a and link_b
    swapped = re.sub(r"-o[0-9a-z]+\.", f"-o{int_to_base36(order_b.pk)}.", link_a)
    assert swapped != link_a and not _link_works(swapped)
    assert _link_works(link_a) and _link_works(link_b)
