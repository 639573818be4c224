"""Registration of a customer's first administrator (CC-7, CC-8): the matching pair in any spelling, the
one neutral answer, the confirmation mail and its link (POST only, once, for 2 days), the first to confirm
winning, the lapse and its sweeper, the rate limits (ALL-1), and a form that keeps what was typed (ALL-2)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from centre.errors import CentreError
from centre.models import PeopleEvent, Registration
from centre.services.registration import registration_confirm, registration_submit
from centre.tasks import send_registration_mail, sweep_registrations
from tests.conftest import run_concurrently
from tests.factories import DEFAULT_PASSWORD, make_user

PASSWORD = "Plum-orchard-71!"
SENT = "If the details match a customer, we sent a confirmation link to"
UNAVAILABLE = "This registration can no longer be confirmed"


def make_customer(customer_id: str = "C-100", tax_id: str = "PL 526-025-09-95") -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER,
        name=f"Acme {customer_id}",
        customer_id=customer_id,
        tax_id=tax_id,
        country_code="PL",
    )


@pytest.fixture
def customer(db: None) -> Organisation:
    return make_customer()


def form(customer_id: str = "C-100", tax_id: str = "5260250995", email: str = "first@acme.test", **more: Any):
    data = {
        "customer_id": customer_id,
        "tax_id": tax_id,
        "first_name": "Ada",
        "last_name": "Nowak",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(more)
    return data


def register(client: Client, capture: Any, **fields: Any) -> Any:
    with capture(execute=True):
        return client.post(reverse("centre:register"), form(**fields), follow=True)


def link_in(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/centre/register/confirm/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def is_admin(user: User, organisation: Organisation) -> bool:
    return Membership.objects.filter(
        user=user, organisation=organisation, role=Membership.Role.ADMIN, active=True
    ).exists()


# --- the journey ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc7_cc8_register_mail_confirm_log_in_lands_on_the_centre_as_administrator(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    response = register(client, django_capture_on_commit_callbacks, email="First@Acme.test")
    assert response.status_code == 200 and SENT in response.content.decode()
    registration = Registration.objects.get()
    assert registration.email == "first@acme.test" and registration.full_name == "Ada Nowak"
    assert registration.password_hash != PASSWORD and check_password(PASSWORD, registration.password_hash)
    assert not User.objects.filter(email="first@acme.test").exists()  # nothing until confirmed

    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["first@acme.test"]
    assert customer.name in mailoutbox[0].subject
    link = link_in(mailoutbox[0])
    page = client.get(link)
    assert page.status_code == 200 and "Confirm and become the administrator" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]

    done = client.post(link)
    assert done.status_code == 200 and "You are now the administrator" in done.content.decode()
    user = User.objects.get(email="first@acme.test")
    assert user.full_name == "Ada Nowak" and is_admin(user, customer)
    assert Membership.objects.get(user=user).rights == frozenset(Membership.Right.values)
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED and registration.password_hash == ""
    event = PeopleEvent.objects.get(kind=PeopleEvent.Kind.REGISTERED)
    assert event.actor == user and event.person == user and event.organisation == customer

    # CC-8: they log in with e-mail and password and land on the centre as the customer's administrator.
    login = client.post(
        reverse("account_login"), {"login": "first@acme.test", "password": PASSWORD}, follow=True
    )
    assert login.redirect_chain[-1][0] == reverse("centre:home")
    assert customer.name in login.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed", ["5260250995", "PL5260250995", "pl 526-025-09-95", "526.025.09.95", " PL 526 025 09 95 "]
)
def test_cc7_the_tax_id_matches_in_any_spelling(customer, typed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_submit(
            customer_id=" C-100 ", tax_id=typed, full_name="Ada", email="a@acme.test", password=PASSWORD
        )
    assert registration is not None and registration.organisation == customer


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["5260250996", "DE5260250995", "", "526025099"])
def test_cc7_another_tax_id_does_not_match(customer, typed):
    assert (
        registration_submit(
            customer_id="C-100", tax_id=typed, full_name="", email="a@acme.test", password="x"
        )
        is None
    )
    assert not Registration.objects.exists()


# --- one answer for every case ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc7_the_answer_is_the_same_whatever_matched(mailoutbox, django_capture_on_commit_callbacks):
    """CC-7: a matching pair, a wrong customer id, a wrong tax id, a customer with an administrator and an
    address with an account all get the same status and the same page, apart from the typed address; only
    the matching pair of a customer without an administrator stores a registration and sends a mail."""
    make_customer("C-1")
    with_admin = make_customer("C-2", tax_id="PL 111-111-11-11")
    make_user(with_admin, email="boss@two.test", role=Membership.Role.ADMIN)
    make_user(None, email="locker@end.test")
    cases = {
        "match": form("C-1", email="m@x.test"),
        "wrong customer id": form("C-9", email="w1@x.test"),
        "wrong tax id": form("C-1", tax_id="5260250990", email="w2@x.test"),
        "has an administrator": form("C-2", tax_id="1111111111", email="w3@x.test"),
        "address has an account": form("C-1", email="locker@end.test"),
    }
    answers = {}
    for case, data in cases.items():
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post(reverse("centre:register"), data)
        assert first.status_code == 302 and first["Location"] == reverse("centre:register_sent"), case
        page = client.get(first["Location"])
        assert page.status_code == 200
        html = page.content.decode()
        assert SENT in html and data["email"] in html and "boss@two.test" not in html
        # Apart from the typed address (and a per-request CSRF token or nonce, if any), the same page.
        answers[case] = re.sub(r'(value|nonce)="[^"]*"', "", html.replace(data["email"], "ADDRESS"))
    assert len(set(answers.values())) == 1
    assert sorted(r.email for r in Registration.objects.all()) == ["locker@end.test", "m@x.test"]
    assert sorted(m.to[0] for m in mailoutbox) == ["locker@end.test", "m@x.test"]


# --- existing accounts ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc7_an_existing_locker_account_joins_the_customer_and_keeps_its_password(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    locker = make_user(None, email="locker@end.test", full_name="Lock Er")
    before = locker.password
    register(client, django_capture_on_commit_callbacks, email="LOCKER@end.test")
    client.post(link_in(mailoutbox[0]))
    locker.refresh_from_db()
    assert locker.password == before and locker.full_name == "Lock Er"
    assert authenticate(username="locker@end.test", password=DEFAULT_PASSWORD) == locker
    assert authenticate(username="locker@end.test", password=PASSWORD) is None
    assert is_admin(locker, customer) and User.objects.filter(email="locker@end.test").count() == 1
    assert PeopleEvent.objects.get(kind=PeopleEvent.Kind.REGISTERED).data["new_account"] is False


# --- the link ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc8_get_of_the_link_does_not_confirm(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    for _ in range(3):
        assert client.get(link).status_code == 200
    assert Registration.objects.get().status == Registration.Status.PENDING
    assert not Membership.objects.filter(organisation=customer).exists()


@pytest.mark.django_db
def test_cc8_a_used_link_does_not_confirm_twice(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    assert "You are now the administrator" in client.post(link).content.decode()
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 200 and UNAVAILABLE in response.content.decode()
    assert PeopleEvent.objects.filter(kind=PeopleEvent.Kind.REGISTERED).count() == 1


@pytest.mark.django_db
def test_cc8_a_forged_link_and_a_replaced_link_answer_the_neutral_page(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)
    register(client, django_capture_on_commit_callbacks)  # again: a new link replaces the first
    old, new = link_in(mailoutbox[0]), link_in(mailoutbox[1])
    assert Registration.objects.count() == 1
    forged = new[:-6] + ("x" if new[-6] != "x" else "y") + new[-5:]
    for link in (old, forged, "/centre/register/confirm/nonsense/"):
        response = client.post(link)
        assert response.status_code == 200 and UNAVAILABLE in response.content.decode(), link
    assert "You are now the administrator" in client.post(new).content.decode()


@pytest.mark.django_db
def test_cc7_a_second_registration_after_an_administrator_was_made_cannot_confirm(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    a, b = Client(), Client()
    register(a, django_capture_on_commit_callbacks, email="a@acme.test")
    register(b, django_capture_on_commit_callbacks, email="b@acme.test")
    link_a, link_b = link_in(mailoutbox[0]), link_in(mailoutbox[1])
    assert "You are now the administrator" in a.post(link_b).content.decode()
    response = b.post(link_a)
    assert UNAVAILABLE in response.content.decode() and "b@acme.test" not in response.content.decode()
    assert list(Membership.objects.filter(organisation=customer).values_list("user__email", flat=True)) == [
        "b@acme.test"
    ]


# --- lapse ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc8_a_registration_lapses_after_two_days_is_swept_and_the_pair_registers_again(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)
    link = link_in(mailoutbox[0])
    registration = Registration.objects.get()
    # Just inside the two days: still confirmable, and the sweeper leaves it.
    Registration.objects.filter(pk=registration.pk).update(
        created_at=timezone.now() - timedelta(days=2) + timedelta(minutes=5)
    )
    assert sweep_registrations.apply().get()["lapsed"] == 0
    assert "Confirm and become the administrator" in client.get(link).content.decode()
    # Past them: the link answers the neutral page, and the sweeper deletes it, once.
    Registration.objects.filter(pk=registration.pk).update(
        created_at=timezone.now() - timedelta(days=2, seconds=1)
    )
    assert UNAVAILABLE in client.post(link).content.decode()
    assert sweep_registrations.apply().get()["lapsed"] == 1
    assert sweep_registrations.apply().get()["lapsed"] == 0
    assert not Registration.objects.exists() and not Membership.objects.filter(organisation=customer).exists()

    register(client, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2 and Registration.objects.count() == 1
    assert "You are now the administrator" in client.post(link_in(mailoutbox[1])).content.decode()
    assert UNAVAILABLE in client.post(link).content.decode()


@pytest.mark.django_db
def test_cc8_the_lapse_follows_the_clock(customer, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_submit(
            customer_id="C-100", tax_id="5260250995", full_name="", email="a@acme.test", password=PASSWORD
        )
    assert registration is not None
    later = timezone.now() + timedelta(days=2, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(CentreError) as refused:
        registration_confirm(registration_id=registration.pk)
    assert refused.value.code == "registration_unavailable"
    assert sweep_registrations.apply().get()["lapsed"] == 1


@pytest.mark.django_db
def test_cc8_all5_the_confirmation_mail_goes_once_however_often_the_task_runs(
    client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)
    registration = Registration.objects.get()
    assert registration.mail_sent_at is not None
    assert send_registration_mail.apply(args=[registration.pk]).get() == "done"
    assert len(mailoutbox) == 1


# --- the race ---------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc7_two_people_confirming_at_the_same_moment_make_exactly_one_administrator():
    """CC-7: two registrations of one customer confirmed at the same moment, each on its own connection in
    a real transaction: the customer row lock makes them take turns, the second finds an administrator."""
    for round_ in range(5):
        organisation = make_customer(f"RACE-{round_}-{uuid.uuid4().hex[:6]}")
        ids = []
        for who in ("a", "b"):
            registration = registration_submit(
                customer_id=organisation.customer_id,
                tax_id="5260250995",
                full_name=who,
                email=f"{who}{round_}@race.test",
                password=PASSWORD,
            )
            assert registration is not None
            ids.append(registration.pk)

        def confirm(registration_id: int) -> str:
            try:
                registration_confirm(registration_id=registration_id)
            except CentreError as error:
                return error.code
            return "ok"

        outcomes = run_concurrently([partial(confirm, pk) for pk in ids])
        assert sorted(outcomes) == ["ok", "registration_unavailable"], outcomes
        admins = Membership.objects.filter(organisation=organisation, role=Membership.Role.ADMIN, active=True)
        assert admins.count() == 1
        assert Registration.objects.filter(organisation=organisation, status="confirmed").count() == 1
        assert PeopleEvent.objects.filter(organisation=organisation, kind="registered").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc8_one_link_confirmed_twice_at_the_same_moment_confirms_once():
    organisation = make_customer(f"TWICE-{uuid.uuid4().hex[:6]}")
    registration = registration_submit(
        customer_id=organisation.customer_id,
        tax_id="5260250995",
        full_name="",
        email="t@race.test",
        password=PASSWORD,
    )
    assert registration is not None

    def confirm() -> str:
        try:
            registration_confirm(registration_id=registration.pk)
        except CentreError as error:
            return error.code
        return "ok"

    assert sorted(run_concurrently([confirm, confirm])) == ["ok", "registration_unavailable"]
    assert PeopleEvent.objects.filter(organisation=organisation, kind="registered").count() == 1


# --- rate limits ------------------------------------------------------------------------------------------
def _unique_ip() -> str:
    n = uuid.uuid4().int
    return f"203.0.{n % 200 + 1}.{(n >> 8) % 250 + 1}"


@pytest.mark.ratelimits
@pytest.mark.django_db
def test_cc7_all1_attempts_are_limited_per_client_and_per_customer_id(settings, mailoutbox):
    """Past the limit the form answers with a neutral error (no 429), whether the pair matches or not."""
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "centre_register_ip": "3/h/ip",
        "centre_register_customer": "4/h/key",
    }
    customer_id = f"RL-{uuid.uuid4().hex[:8]}"
    make_customer(customer_id)
    client, ip = Client(), _unique_ip()
    for i in range(3):
        response = client.post(reverse("centre:register"), form(f"{customer_id}-x{i}"), REMOTE_ADDR=ip)
        assert response.status_code == 302
    refused = client.post(reverse("centre:register"), form(customer_id), REMOTE_ADDR=ip)
    html = refused.content.decode()
    assert refused.status_code == 200 and "Too many registration attempts" in html
    assert 'value="Ada"' in html and PASSWORD not in html
    assert not Registration.objects.exists()  # the right pair, past the limit: nothing stored

    # Per customer id, from many addresses (any spelling of the id counts as one).
    for i, typed in enumerate([customer_id, customer_id.lower(), f" {customer_id} ", customer_id]):
        response = Client().post(
            reverse("centre:register"), form(typed, tax_id="1"), REMOTE_ADDR=_unique_ip()
        )
        assert response.status_code == 302, i
    response = Client().post(reverse("centre:register"), form(customer_id), REMOTE_ADDR=_unique_ip())
    assert response.status_code == 200 and "Too many registration attempts" in response.content.decode()
    assert not Registration.objects.exists()


# --- the form ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_all2_the_form_keeps_what_was_typed_and_shows_errors_by_field(client, customer):
    response = client.post(
        reverse("centre:register"),
        form(email="not-an-address", password2="Something-else-99", first_name=""),
    )
    html = response.content.decode()
    assert response.status_code == 200
    for field in ("email", "password2", "first_name"):
        assert f'id="id_{field}_error"' in html, field
    assert 'value="not-an-address"' in html and 'value="C-100"' in html and 'value="5260250995"' in html
    assert 'value="Nowak"' in html
    assert PASSWORD not in html and "Something-else-99" not in html  # passwords are never sent back
    assert "error-summary" in html or 'href="#id_email"' in html

    weak = client.post(reverse("centre:register"), form(password1="123", password2="123"))
    assert 'id="id_password1_error"' in weak.content.decode()
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_cc7_the_login_page_links_to_the_registration(client):
    html = client.get(reverse("account_login")).content.decode()
    assert reverse("centre:register") in html and "Register your company" in html


@pytest.mark.django_db
def test_cc7_the_sent_page_without_a_registration_goes_back_to_the_form(client):
    response = client.get(reverse("centre:register_sent"))
    assert response.status_code == 302 and response["Location"] == reverse("centre:register")


@pytest.mark.django_db
def test_cc7_staff_see_registrations_read_only_without_the_password_hash(
    staff_client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_submit(
            customer_id="C-100", tax_id="5260250995", full_name="", email="a@acme.test", password=PASSWORD
        )
    assert registration is not None
    listing = staff_client.get(reverse("admin:centre_registration_changelist"))
    assert listing.status_code == 200 and "a@acme.test" in listing.content.decode()
    page = staff_client.get(reverse("admin:centre_registration_change", args=[registration.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and registration.password_hash not in html and "pbkdf2" not in html
    assert staff_client.get(reverse("admin:centre_registration_add")).status_code == 403
