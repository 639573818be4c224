"""A person changes their own address only through the portal's confirmed change, never through allauth's
e-mail pages (ESD-8, ESD-13, ESD-14, ESD-15, ALL-2, ALL-3; issue #14).

The first half proves the confirmed change (``/account/email/``, ``accounts.email_change``): nothing moves
until the link mailed to the new address is used; old links die; the previous address is told, masked; a
taken address gets the neutral answer; requests are rate-limited; a locker account keeps its keys, logs in
with the new address and reveals; every step is recorded. The second half: allauth's own pages stay shut.

Fulfilment gives an order's keys to the account whose address is the order's (ESD-15), so an account that
could add an address and make it primary would receive another person's keys. The only way an end
customer's address changes is the reseller's correction (ESD-14). Two layers are proved: the portal's URLs
answer 404 for allauth's e-mail pages, and allauth's e-mail page itself (mounted here directly, in front
of the portal's URLs, as a later change of ``portal.urls`` might) adds, confirms and removes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import include, path, reverse

from accounts.models import AccountEvent, EmailChange, MailDomain, User
from locker.models import ProductKey
from orders.models import Order
from orders.tokens import WelcomeLinkTokenGenerator
from portal.urls import urlpatterns as portal_urlpatterns
from tests.factories import DEFAULT_PASSWORD, make_product, make_user, org_of, place_order, stock

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


# --- the portal's own, confirmed change (issue #14) -------------------------------------------------------
OLD = "anna@customer.example"
NEW = "anna.new@elsewhere.example"
CHANGE_URL = "/account/email/"


def _ask(client: Any, new: str, password: str = DEFAULT_PASSWORD) -> Any:
    return client.post(CHANGE_URL, {"new_email": new, "password": password}, follow=True)


def _link_in(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/account/email/confirm/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def _answer(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.django_db
def test_issue14_change_takes_effect_only_from_the_new_address(client, django_capture_on_commit_callbacks):
    """ESD-13, ESD-14 (issue #14): asking changes nothing; the link goes to the new address only; its page
    changes nothing on GET; the POST behind it moves the account, and the old address is told (masked, no
    link). Every step is recorded (ALL-3)."""
    user = make_user(None, email=OLD)
    client.force_login(user)
    page = client.get(CHANGE_URL)
    assert page.status_code == 200 and OLD in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, NEW.upper())
    assert NEW in _answer(response)
    user.refresh_from_db()
    assert user.email == OLD  # not before the link is used
    assert [m.to for m in mail.outbox] == [[NEW]]
    link = _link_in(mail.outbox[0])
    assert OLD not in mail.outbox[0].body  # the old address only masked

    other = Client()
    assert other.get(link).status_code == 200  # a mail scanner's GET
    user.refresh_from_db()
    assert user.email == OLD
    with django_capture_on_commit_callbacks(execute=True):
        done = other.post(link)
    assert done.status_code == 200 and NEW in done.content.decode()
    user.refresh_from_db()
    assert user.email == NEW and user.email_canonical == NEW
    notice = mail.outbox[-1]
    assert notice.to == [OLD]
    assert "a•••@e•••.example" in notice.body and NEW not in notice.body
    assert "http" not in notice.body and "http" not in notice.alternatives[0][0]
    kinds = list(AccountEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == ["email_change_requested", "email_changed", "email_change_notice_sent"]
    changed = AccountEvent.objects.get(user=user, kind="email_changed")
    assert changed.actor_id == user.pk and changed.data["from"] == OLD and changed.data["to"] == NEW
    # The link is used up.
    assert "can no longer be used" in other.post(link).content.decode()


@pytest.mark.django_db
def test_issue14_esd13_old_links_die_and_old_address_resets_nothing(
    client, django_capture_on_commit_callbacks
):
    """ESD-13, ESD-14: the account's set-password/reset links sent before the change stop working; "forgot password" with the old address sends nothing; a replaced request's link
    is dead too."""
    user = make_user(None, email=OLD)
    EmailAddress.objects.create(user=user, email=OLD, primary=True, verified=True)
    generator = WelcomeLinkTokenGenerator()
    reset_token = generator.make_token(user)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, "first@elsewhere.example")
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, NEW)
    first, second = _link_in(mail.outbox[0]), _link_in(mail.outbox[1])
    assert "can no longer be used" in Client().get(first).content.decode()  # replaced
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(second)
    user.refresh_from_db()
    assert user.email == NEW
    assert not generator.check_token(user, reset_token)
    assert not EmailAddress.objects.filter(email=OLD).exists()
    mail.outbox.clear()
    Client().post(reverse("account_reset_password"), {"email": OLD})
    # The old mailbox can no longer reset the account (allauth at most tells it that no account has it).
    assert not [m for m in mail.outbox if "/password/reset/key/" in m.body]


@pytest.mark.django_db
def test_issue14_esd13_taken_address_gets_the_same_answer_and_nothing_is_sent(
    client, django_capture_on_commit_callbacks
):
    """ESD-13's no-enumeration (issue #14): an address another account has (also spelt differently, with
    a +tag) gets the very answer a free one gets; nothing is stored or mailed; the refusal is recorded for
    staff."""
    user = make_user(None, email=OLD)
    make_user(None, email="taken@elsewhere.example", password=None)
    client.force_login(user)
    answers = []
    for address in ("taken@elsewhere.example", "Taken+x@elsewhere.example", "free@elsewhere.example"):
        with django_capture_on_commit_callbacks(execute=True):
            response = _ask(client, address)
        assert response.status_code == 200 and response.redirect_chain[-1][0] == CHANGE_URL
        answers.append(_answer(response).replace(address.lower(), "ADDRESS"))
    assert answers[0] == answers[1] == answers[2]
    assert [m.to for m in mail.outbox] == [["free@elsewhere.example"]]
    assert list(EmailChange.objects.values_list("to_email", flat=True)) == ["free@elsewhere.example"]
    refused = AccountEvent.objects.filter(user=user, data__refused="taken").count()
    assert refused == 2


@pytest.mark.django_db
def test_issue14_address_taken_before_confirmation_is_refused_at_the_link(
    client, django_capture_on_commit_callbacks
):
    """ALL-2 (issue #14): if another account gets the address after the link went out, the link's page
    refuses with the neutral page and nothing changes."""
    user = make_user(None, email=OLD)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, NEW)
    link = _link_in(mail.outbox[0])
    make_user(None, email=NEW, password=None)
    response = Client().post(link)
    assert response.status_code == 200 and "can no longer be used" in response.content.decode()
    user.refresh_from_db()
    assert user.email == OLD


@pytest.mark.django_db
def test_issue14_wrong_password_and_own_address_keep_what_was_typed(client):
    """ALL-2: a wrong password or one's own address is refused next to the field, the typed address kept,
    nothing stored or sent."""
    user = make_user(None, email=OLD)
    client.force_login(user)
    response = client.post(CHANGE_URL, {"new_email": NEW, "password": "wrong-password-1"})
    assert response.status_code == 200
    assert "This is not your password." in str(response.context["form"].errors["password"])
    assert f'value="{NEW}"' in response.content.decode()
    response = client.post(CHANGE_URL, {"new_email": OLD.upper(), "password": DEFAULT_PASSWORD})
    assert "already your address" in str(response.context["form"].errors["new_email"])
    assert not EmailChange.objects.exists() and not mail.outbox
    client.logout()
    assert client.get(CHANGE_URL).status_code == 302  # signed-in people only


@pytest.mark.django_db
@pytest.mark.ratelimits
def test_issue14_requests_are_rate_limited_per_account(client, settings):
    """Issue #14: asking is limited per account (``ACCOUNT_RATE_LIMITS["email_change"]``); past the limit the
    form says so, keeps the address typed, and nothing more is stored or sent."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "email_change": "3/h/key"}
    user = make_user(None, email=OLD)
    client.force_login(user)
    for n in range(3):
        assert _ask(client, f"n{n}@elsewhere.example").redirect_chain
    response = client.post(CHANGE_URL, {"new_email": "n9@elsewhere.example", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "Too many requests" in str(response.context["form"].non_field_errors())
    assert 'value="n9@elsewhere.example"' in response.content.decode()
    assert EmailChange.objects.filter(user=user).count() == 3


@pytest.mark.django_db
def test_issue14_esd15_locker_account_keeps_its_keys_logs_in_with_new_address_and_reveals(
    client, reseller, django_capture_on_commit_callbacks
):
    """ESD-15, ESD-14, LOCK-4 (issue #14): an end customer with keys moves to a new address: the keys stay
    theirs, the orders' address follows (also an order still waiting for stock, whose key then reaches the
    same locker), the welcome link mailed to the old address dies, they log in with the new address (not
    the old) and reveal a key."""
    product = make_product()
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        delivered = place_order(reseller, (product, 1), email=OLD)
        waiting = place_order(reseller, (product, 1), email=OLD)
    delivered.refresh_from_db()
    waiting.refresh_from_db()
    assert delivered.status == Order.Status.FULFILLED and waiting.status == Order.Status.AWAITING_STOCK
    account = User.objects.get(email=OLD)
    account.set_password(DEFAULT_PASSWORD)
    account.save()
    assert client.login(email=OLD, password=DEFAULT_PASSWORD)
    welcome_token = WelcomeLinkTokenGenerator().make_order_token(account, delivered)
    assert WelcomeLinkTokenGenerator().check_token(account, welcome_token)
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client, NEW)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(_link_in(mail.outbox[-1]))
    account.refresh_from_db()
    assert account.email == NEW
    delivered.refresh_from_db()
    waiting.refresh_from_db()
    assert delivered.end_customer_email == NEW and waiting.end_customer_email == NEW
    assert AccountEvent.objects.get(user=account, kind="email_changed").data["orders"] == 2
    assert not WelcomeLinkTokenGenerator().check_token(account, welcome_token)  # the welcome link died

    with django_capture_on_commit_callbacks(execute=True):
        stock(product, 1)
    waiting.refresh_from_db()
    assert waiting.status == Order.Status.FULFILLED and waiting.end_customer_id == account.pk
    assert not User.objects.filter(email=OLD).exists()  # no new account at the old mailbox
    keys = list(ProductKey.objects.filter(owner=account))
    assert len(keys) == 2

    fresh = Client()
    assert not fresh.login(email=OLD, password=DEFAULT_PASSWORD)
    response = fresh.post(reverse("account_login"), {"login": NEW, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    revealed = fresh.post(reverse("locker:reveal", args=[keys[0].pk]), HTTP_ACCEPT="application/json")
    assert revealed.status_code == 200 and revealed.json()["key"]


@pytest.mark.django_db
def test_issue14_esd7_end_customer_cannot_move_to_the_resellers_own_domain(
    client, reseller, django_capture_on_commit_callbacks
):
    """ESD-7 (issue #14): an end customer cannot move their locker to an address at a mail domain the reseller
    that ordered for them declared as its own; the answer is the neutral one and nothing is sent."""
    product = make_product()
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(reseller, (product, 1), email=OLD)
    account = User.objects.get(email=OLD)
    account.set_password(DEFAULT_PASSWORD)
    account.save()
    MailDomain.objects.create(organisation=org_of(reseller), domain="reseller-shop.example")
    client.force_login(account)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, "me@reseller-shop.example")
    assert "me@reseller-shop.example" in _answer(response)
    assert not mail.outbox and not EmailChange.objects.exists()
    assert AccountEvent.objects.get(user=account).data["refused"] == "esd7"
