"""Nobody changes their own address through allauth's e-mail pages (ESD-8, ESD-14, ESD-15, ALL-2).

Fulfilment gives an order's keys to the account whose address is the order's (ESD-15), so an account that
could add an address and make it primary would receive another person's keys. The only way an end
customer's address changes is the reseller's correction (ESD-14). Two layers are proved: the portal's URLs
answer 404 for allauth's e-mail pages, and allauth's e-mail page itself (mounted here directly, in front
of the portal's URLs, as a later change of ``portal.urls`` might) adds, confirms and removes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import include, path, reverse

from accounts.models import User
from locker.models import ProductKey
from orders.models import Order
from portal.urls import urlpatterns as portal_urlpatterns
from tests.factories import DEFAULT_PASSWORD, make_product, make_user, place_order, stock

# This module is also a URL conf: allauth's own URLs first (its e-mail page reachable), then the portal's.
urlpatterns = [path("accounts/", include("allauth.urls")), *portal_urlpatterns]
ALLAUTH_FIRST = __name__

ATTACKER = "attacker@outside.test"
VICTIM = "victim@real.example"
EMAIL_PAGES = ["/accounts/email/", "/accounts/confirm-email/", "/accounts/confirm-email/MQ:1t0:abc/"]


def _sign_in(client: Any, email: str) -> None:
    """A real password login (as the attacker, who knows this account's password, would sign in)."""
    response = client.post(reverse("account_login"), {"login": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]


def _try_to_take(client: Any, address: str) -> list[Any]:
    """Everything allauth's e-mail page offers, aimed at ``address``: add it, make it primary, resend its
    confirmation, remove the account's own address. Every answer, for the caller to check."""
    page = "/accounts/email/"
    return [
        client.get(page),
        client.post(page, {"email": address, "action_add": ""}),
        client.post(page, {"email": address, "action_primary": ""}),
        client.post(page, {"email": address, "action_send": ""}),
        client.post(page, {"email": ATTACKER, "action_remove": ""}),
        client.post(page, {"email": address, "action_primary": ""}, HTTP_ACCEPT="application/json"),
    ]


def _unchanged(account: User) -> None:
    account.refresh_from_db()
    assert account.email == ATTACKER
    assert not EmailAddress.objects.exclude(email=ATTACKER).filter(user=account).exists()
    assert not EmailAddress.objects.filter(email__in=[VICTIM, "victim2@real.example"]).exists()


@pytest.mark.django_db
def test_esd14_email_pages_answer_404_and_change_nothing(client):
    """ESD-14, ALL-2: for a signed-in locker account every allauth e-mail page answers 404 (GET and POST):
    no address is added, made primary or removed, and nothing answers 500."""
    account = make_user(None, email=ATTACKER)
    _sign_in(client, ATTACKER)
    for url in EMAIL_PAGES:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"email": VICTIM, "action_add": ""}).status_code == 404, url
    assert [r.status_code for r in _try_to_take(client, VICTIM)] == [404] * 6
    _unchanged(account)
    assert not mail.outbox


@pytest.mark.django_db
def test_esd14_allauths_own_email_page_adds_and_confirms_nothing(client, settings):
    """ESD-14, ALL-2: behind the URLs too, allauth's e-mail page (reached directly) refuses every new address
    (the form's error says why; with one address allowed allauth shows no "add" form), confirms none, removes none and sends nothing; never a 500, also for
    an address another account has."""
    settings.ROOT_URLCONF = ALLAUTH_FIRST
    account = make_user(None, email=ATTACKER)
    make_user(None, email="victim2@real.example", password=None)
    _sign_in(client, ATTACKER)
    for address in (VICTIM, "victim2@real.example"):
        answers = _try_to_take(client, address)
        assert all(r.status_code < 500 for r in answers), [r.status_code for r in answers]
        added = client.post("/accounts/email/", {"email": address, "action_add": ""})
        assert added.status_code == 200
        assert "cannot be changed here" in str(added.context["form"].errors["email"])
        _unchanged(account)
    assert not mail.outbox

    from allauth.account.adapter import get_adapter

    own = EmailAddress.objects.get(user=account, email=ATTACKER)
    stray = EmailAddress(user=account, email=VICTIM)  # an address allauth would be asked to confirm
    adapter = get_adapter()
    assert not adapter.can_delete_email(own)
    assert not adapter.confirm_email(None, stray)  # type: ignore[arg-type]
    assert not adapter.should_send_confirmation_mail(None, stray, False)  # type: ignore[arg-type]
    assert not EmailAddress.objects.filter(email=VICTIM).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("urlconf", ["portal.urls", ALLAUTH_FIRST])
def test_esd14_esd15_attack_replay_keys_reach_the_orders_address_not_the_attacker(
    client, settings, reseller, django_capture_on_commit_callbacks, urlconf
):
    """ESD-14, ESD-15, ESD-8: an order to victim@ waits for stock; an outside locker account whose password
    the attacker knows tries to add victim@ and make it primary; when stock arrives the key goes to the
    account of victim@, never to the attacker's locker."""
    settings.ROOT_URLCONF = urlconf
    product = make_product()
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(reseller, (product, 1), email=VICTIM)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_STOCK

    attacker = make_user(None, email=ATTACKER)
    _sign_in(client, ATTACKER)
    answers = _try_to_take(client, VICTIM)
    assert all(r.status_code < 500 for r in answers), [r.status_code for r in answers]
    _unchanged(attacker)

    with django_capture_on_commit_callbacks(execute=True):
        stock(product, 1)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    key = ProductKey.objects.get(product=product)
    assert key.owner_id is not None and key.owner_id != attacker.pk
    assert key.owner.email == VICTIM and order.end_customer_id == key.owner_id
    assert not ProductKey.objects.filter(owner=attacker).exists()
    assert client.get(reverse("locker:index")).content.decode().count('class="card key-card"') == 0
