"""ESD-8: staff never set a locker account's password or address, nor sign in as its owner; they may send
the owner a set-password link. And no admin page opens for staff without a second factor (TOTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.addresses import canonical_address
from accounts.models import AccountEvent, Organisation, User
from tests.factories import (
    DEFAULT_PASSWORD,
    fresh_totp_code,
    give_totp,
    make_org,
    make_product,
    make_user,
    org_of,
    place_order,
    recovery_codes,
    stock,
    totp_code,
)

NEW_PASSWORD = "Amber-Quarry-Otter-51"
ADMIN_HOME = "Site administration"


@pytest.fixture
def locker_account(end_customer: Any, reseller: Any, django_capture_on_commit_callbacks: Any) -> User:
    """customer@end.test after an order was fulfilled for it: owns keys, is the order's end customer."""
    product = make_product()
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(reseller, (product, 1), email=end_customer.email)
    account = User.objects.get(pk=end_customer.pk)
    assert account.locker_keys.exists() and account.locker_orders.exists()
    return account


def _change_form_data(user: User, **overrides: Any) -> dict[str, Any]:
    """What the user change form posts (with the membership inline's management form)."""
    data: dict[str, Any] = {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def _reset_link(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s\"<]+)", text)
    assert match, text
    return match.group(1)


def _password_login(client: Client, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _open_totp_activation(client: Client, password: str) -> str:
    """allauth's TOTP activation page, after the password check it asks for first (reauthentication)."""
    response = client.get(reverse("mfa_activate_totp"))
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("account_reauthenticate")), response["Location"]
        assert client.post(response["Location"], {"password": password}).status_code == 302
        response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    return response.content.decode()


def _secret_on(html: str) -> str:
    """The authenticator secret the activation page shows its user (next to the QR code)."""
    field = re.search(r"<input[^>]*authenticator_secret[^>]*>", html)
    assert field, html
    value = re.search(r'value="([A-Z2-7=]+)"', field.group(0))
    assert value, field.group(0)
    return value.group(1)


# --- the admin never sets a locker account's password or address ------------------------------------
@pytest.mark.django_db
def test_esd8_no_admin_url_sets_a_locker_accounts_password(staff_client, staff, locker_account):
    """ESD-8: the password view answers 403/404 to GET and POST for every user, and the change form has no
    password field: a posted one changes nothing."""
    for user in (locker_account, staff):
        url = f"/admin/accounts/user/{user.pk}/password/"
        assert staff_client.get(url).status_code in (403, 404), user
        posted = staff_client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert posted.status_code in (403, 404), user
    change_url = reverse("admin:accounts_user_change", args=[locker_account.pk])
    page = staff_client.get(change_url).content.decode()
    assert "../password/" not in page and f"/accounts/user/{locker_account.pk}/password/" not in page
    assert 'name="password' not in page
    staff_client.post(
        change_url,
        _change_form_data(
            locker_account,
            password=NEW_PASSWORD,
            password1=NEW_PASSWORD,
            password2=NEW_PASSWORD,
            usable_password="true",
        ),
    )
    locker_account.refresh_from_db()
    assert not locker_account.has_usable_password()
    assert not locker_account.check_password(NEW_PASSWORD)
    assert _password_login(Client(), locker_account.email, NEW_PASSWORD).status_code == 200  # refused


@pytest.mark.django_db
def test_esd8_change_form_keeps_a_locker_accounts_address(staff_client, staff, locker_account):
    """ESD-8: a locker account's address is read-only in the admin (it changes only by ESD-14's correction),
    so "forgot password" at an address staff chose can never open it."""
    url = reverse("admin:accounts_user_change", args=[locker_account.pk])
    assert 'name="email"' not in staff_client.get(url).content.decode()
    response = staff_client.post(
        url, _change_form_data(locker_account, email="staff.mailbox@distributor.test")
    )
    assert response.status_code in (200, 302)
    locker_account.refresh_from_db()
    assert locker_account.email == "customer@end.test"
    staff_client.post(reverse("account_reset_password"), {"email": "staff.mailbox@distributor.test"})
    to_staff = [m for m in mail.outbox if m.to == ["staff.mailbox@distributor.test"]]
    assert not [m for m in to_staff if "/accounts/password/reset/key/" in m.body]


@pytest.mark.django_db
def test_esd8_locker_account_cannot_be_given_staff_rights_or_a_membership(
    staff_client, staff, locker_account
):
    """ESD-8: staff and locker roles stay apart: the admin turns on no staff/superuser flag, group or
    permission for an account that holds keys, and adds it to no organisation."""
    url = reverse("admin:accounts_user_change", args=[locker_account.pk])
    staff_client.post(url, _change_form_data(locker_account, is_staff="on", is_superuser="on"))
    locker_account.refresh_from_db()
    assert not locker_account.is_staff and not locker_account.is_superuser
    org = make_org(Organisation.Kind.RESELLER, "Staff's shop")
    response = staff_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": locker_account.pk, "organisation": org.pk, "role": "admin", "_save": "Save"},
    )
    assert response.status_code == 200 and "locker" in response.content.decode()
    assert not org.memberships.exists()


@pytest.mark.django_db
def test_esd8_changing_another_accounts_address_clears_its_password(staff_client, staff):
    """ESD-8: an account whose address staff change in the admin keeps no password anyone knew: otherwise
    staff could set a password at their own address, move the account to a customer's address before the
    customer's first order, and sign in to its locker."""
    prepared = make_user(None, email="prepared@distributor.test")
    assert prepared.has_usable_password()
    url = reverse("admin:accounts_user_change", args=[prepared.pk])
    response = staff_client.post(url, _change_form_data(prepared, email="future.customer@end.test"))
    assert response.status_code == 302
    prepared.refresh_from_db()
    assert prepared.email == "future.customer@end.test" and not prepared.has_usable_password()
    assert _password_login(Client(), "future.customer@end.test").status_code == 200  # refused


@pytest.mark.django_db
def test_esd7_esd8_the_admin_gives_no_second_account_to_a_mailbox(staff_client, staff):
    """One mailbox, one account, in the admin as in the portal's own change of address: an address that
    reaches another account's mailbox (another spelling of it) is refused by its field, when adding a user
    and when changing one's address; what was typed is kept."""
    make_user(None, email="jan.kowalski@gmail.com")
    other = make_user(None, email="other@example.test")
    url = reverse("admin:accounts_user_change", args=[other.pk])
    refused = staff_client.post(url, _change_form_data(other, email="Jan.Kowalski+shop@gmail.com"))
    html = refused.content.decode()
    assert refused.status_code == 200 and "Another account has this address" in html
    assert "jan.kowalski+shop@gmail.com" in html.lower()
    other.refresh_from_db()
    assert other.email == "other@example.test"
    added = staff_client.post(reverse("admin:accounts_user_add"), {"email": "jan.kowalski+x@gmail.com"})
    assert added.status_code == 200 and "Another account has this address" in added.content.decode()
    assert User.objects.filter(email_canonical=canonical_address("jan.kowalski@gmail.com")).count() == 1
    # Its own address, unchanged, is no refusal.
    assert staff_client.post(url, _change_form_data(other, email="other@example.test")).status_code == 302


@pytest.mark.django_db
def test_esd8_admin_address_change_removes_allauths_addresses_so_reset_at_the_old_one_finds_nothing(
    staff_client, staff
):
    """ESD-8, ESD-14: when staff change an account's address in the admin, allauth's EmailAddress rows of
    that account go too: "forgot password" at the old address (allauth finds accounts by those rows as
    well) sends no reset link, only what any unknown address gets, so whoever reads the old mailbox cannot
    set the moved account's password."""
    from allauth.account.models import EmailAddress

    moved = make_user(None, email="old.address@example.test")
    # What allauth writes for an account (its e-mail page, a confirmation): the address, primary, verified.
    EmailAddress.objects.create(user=moved, email=moved.email, primary=True, verified=True)
    url = reverse("admin:accounts_user_change", args=[moved.pk])
    response = staff_client.post(url, _change_form_data(moved, email="new.address@example.test"))
    assert response.status_code == 302
    moved.refresh_from_db()
    assert moved.email == "new.address@example.test"
    assert not EmailAddress.objects.filter(user=moved).exists()
    # ALL-3: recorded like the owner's own change, naming the staff member who made it.
    event = AccountEvent.objects.get(user=moved, kind=AccountEvent.Kind.EMAIL_CHANGED)
    assert event.actor == staff
    assert event.data == {"from": "old.address@example.test", "to": "new.address@example.test", "by": "staff"}

    def reset_mails(address: str) -> list[Any]:
        mail.outbox.clear()
        assert Client().post(reverse("account_reset_password"), {"email": address}).status_code == 302
        return list(mail.outbox)

    at_old = reset_mails("old.address@example.test")
    assert not [m for m in at_old if "/accounts/password/reset/key/" in m.body]
    # Exactly what an address that never had an account gets (allauth's "no such account" notice, if
    # any: ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS), so nothing there reaches the moved account.
    never = reset_mails("never.known@example.test")
    assert [(m.subject, m.to) for m in at_old] == [(m.subject, ["old.address@example.test"]) for m in never]
    assert all("new.address@example.test" not in m.body for m in at_old)
    # The new address's owner gets a link (the account is found by its address).
    at_new = reset_mails("new.address@example.test")
    assert [m.to for m in at_new] == [["new.address@example.test"]] and _reset_link(at_new[0].body)


@pytest.mark.django_db
def test_esd8_end_customer_of_a_placed_order_is_a_locker_account_in_the_admin(staff_client, staff, reseller):
    """ESD-8, ESD-7: an account whose address an order was placed for (not fulfilled yet: no keys, no
    ``end_customer``) is a future locker account: no staff/superuser flag, no membership, and its address
    is read-only in the admin (else staff could move it away before the keys arrive)."""
    future = make_user(None, email="future@end.test", password=None)
    order = place_order(reseller, (make_product(), 1), email="Future@End.test")
    order.refresh_from_db()
    assert order.status == "placed" and order.end_customer_id is None
    assert not future.locker_keys.exists()

    url = reverse("admin:accounts_user_change", args=[future.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="email"' not in page and 'name="is_staff"' not in page and 'name="is_superuser"' not in page
    assert "memberships-TOTAL_FORMS" not in page
    staff_client.post(
        url,
        _change_form_data(future, email="staff.mailbox@distributor.test", is_staff="on", is_superuser="on"),
    )
    future.refresh_from_db()
    assert future.email == "future@end.test" and not future.is_staff and not future.is_superuser
    org = make_org(Organisation.Kind.RESELLER, "Staff's shop")
    response = staff_client.post(
        reverse("admin:accounts_membership_add"),
        {"user": future.pk, "organisation": org.pk, "role": "admin", "_save": "Save"},
    )
    assert response.status_code == 200 and "locker" in response.content.decode()
    assert not org.memberships.exists()


@pytest.mark.django_db
def test_esd8_send_set_password_link_mails_the_owner_a_working_link_and_shows_staff_none(
    staff_client, staff, locker_account
):
    """ESD-8: the admin action sends the owner allauth's own reset mail, recorded as a LogEntry (who, when);
    the owner follows it, sets a password and gets in; nothing of the link reaches staff."""
    mail.outbox.clear()
    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "send_set_password_link", "_selected_action": [locker_account.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [[locker_account.email]]
    link = _reset_link(mail.outbox[0].body)
    key = link.rstrip("/").rsplit("/", 1)[-1]
    page = response.content.decode()
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "set-password link" in shown
    for text in (page, shown):
        assert "/accounts/password/reset/key/" not in text and key not in text
    entry = LogEntry.objects.get(object_id=str(locker_account.pk), action_flag=CHANGE)
    assert entry.user_id == staff.pk and "set-password link" in entry.get_change_message()

    customer = Client()
    form = customer.get(link, follow=True)
    form_url = form.redirect_chain[-1][0]
    done = customer.post(
        form_url, {"email": locker_account.email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert _password_login(customer, locker_account.email, NEW_PASSWORD).status_code == 302
    assert customer.get(reverse("locker:index")).status_code == 200


@pytest.mark.django_db
def test_esd8_add_form_makes_a_user_without_password_and_offers_the_link(staff_client, staff):
    """ESD-8: staff add a user without a password (unusable) and may send a set-password link with it."""
    page = staff_client.get(reverse("admin:accounts_user_add")).content.decode()
    assert 'name="password1"' not in page and 'name="send_set_password_link"' in page
    mail.outbox.clear()
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "New.Colleague@Distributor.test", "send_set_password_link": "on", "_save": "Save"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.colleague@distributor.test")
    assert not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [[user.email]] and _reset_link(mail.outbox[0].body)


# --- staff need a second factor before any admin page -------------------------------------------------
@pytest.mark.django_db
def test_esd8_admin_login_is_allauths_login_not_a_password_only_form(client, staff):
    """ESD-8: /admin/login/ offers no password-only login: it sends to allauth's login with `next`."""
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=/admin/"
    response = client.get(reverse("admin:login") + "?next=/admin/accounts/user/")
    assert response["Location"] == reverse("account_login") + "?next=/admin/accounts/user/"
    posted = client.post(reverse("admin:login"), {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_esd8_staff_without_totp_is_sent_to_totp_setup_and_never_sees_the_admin(client, staff):
    """ESD-8: a signed-in staff user without an authenticator is sent to allauth's TOTP activation from
    every admin page, the login page included."""
    assert _password_login(client, staff.email).status_code == 302
    for url in (
        "/admin/",
        "/admin/login/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{staff.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_activate_totp")), url
    followed = client.get("/admin/", follow=True)
    assert followed.redirect_chain[0][0].startswith(reverse("mfa_activate_totp"))
    assert ADMIN_HOME not in followed.content.decode()
    # allauth asks for the password once more before an authenticator is added, then shows the setup.
    assert "Activate Authenticator App" in _open_totp_activation(client, DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_esd8_staff_with_totp_must_enter_a_code_before_the_admin_opens(client, staff):
    """ESD-8: with TOTP, the password alone signs nobody in; the code computed from the secret does."""
    secret = give_totp(staff)
    response = _password_login(client, staff.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/")["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("mfa_authenticate"), {"code": fresh_totp_code(secret)})
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200 and ADMIN_HOME in page.content.decode()


@pytest.mark.django_db
def test_esd8_wrong_totp_code_is_refused(client, staff):
    """ESD-8: a code that is not the authenticator's (nor a recovery code) keeps the admin shut."""
    secret = give_totp(staff)
    _password_login(client, staff.email)
    valid = {totp_code(secret, at=t) for t in (_now() - 30, _now(), _now() + 30)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200 and "Incorrect code" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_esd8_recovery_code_works_once(client, staff):
    """ESD-8: a recovery code stands in for the phone once; used again it is refused."""
    give_totp(staff)
    code = recovery_codes(staff)[0]
    _password_login(client, staff.email)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post(reverse("account_logout"))
    again = Client()
    _password_login(again, staff.email)
    response = again.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200 and "Incorrect code" in response.content.decode()
    assert again.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_esd8_session_not_authenticated_with_the_second_factor_must_pass_it(client, staff):
    """ESD-8: a staff session that never showed a code (one from before activation, or force_login) passes
    allauth's MFA reauthentication before the admin opens, then goes on to the page it asked for."""
    secret = give_totp(staff)
    client.force_login(staff)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_reauthenticate") + "?next=/admin/accounts/user/"
    response = client.post(response["Location"], {"code": fresh_totp_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


@pytest.mark.django_db
def test_esd8_non_staff_user_activates_totp_from_the_2fa_page(client, reseller, end_customer):
    """ESD-8 (and everyone's own protection): any signed-in user can add TOTP at /accounts/2fa/, on pages in
    the portal's own layout; the next login then asks for a code."""
    assert _password_login(client, reseller.email).status_code == 302
    home = client.get(reverse("home"), follow=True).content.decode()
    assert f'href="{reverse("mfa_index")}"' in home
    index = client.get(reverse("mfa_index"))
    assert index.status_code == 200 and 'class="topbar"' in index.content.decode()
    html = _open_totp_activation(client, DEFAULT_PASSWORD)
    assert 'class="topbar"' in html
    response = client.post(reverse("mfa_activate_totp"), {"code": fresh_totp_code(_secret_on(html))})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_view_recovery_codes")
    assert client.get(reverse("mfa_view_recovery_codes")).status_code == 200
    client.post(reverse("account_logout"))
    assert _password_login(Client(), reseller.email)["Location"] == reverse("mfa_authenticate")
    # A locker account (no staff rights) may do the same; the admin stays closed to it either way.
    customer = Client()
    customer.force_login(end_customer)
    assert customer.get(reverse("mfa_index")).status_code == 200
    assert customer.get("/admin/").status_code in (302, 403)


@pytest.mark.django_db
def test_esd8_authenticators_in_the_admin_show_no_secret_and_only_superusers_remove_one(staff_client, staff):
    """ESD-8: the admin lists authenticators without their secrets, adds or edits none, and lets only a
    superuser remove a lost one (with its recovery codes); that gives nobody a session: the owner signs in
    with the password and is sent to set up a new authenticator."""
    from allauth.mfa.models import Authenticator

    colleague = make_user(org_of(staff), email="agent@distributor.test", is_staff=True)
    secret = give_totp(colleague)
    lost = Authenticator.objects.get(user=colleague, type="totp")
    seed = lost.data.get("secret")
    pages = [
        reverse("admin:mfa_authenticator_changelist"),
        reverse("admin:mfa_authenticator_change", args=[lost.pk]),
    ]
    for url in pages:
        html = staff_client.get(url).content.decode()
        assert secret not in html and (seed or secret) not in html
        assert "used_mask" not in html and '"seed"' not in html
    assert staff_client.get(reverse("admin:mfa_authenticator_add")).status_code == 403
    response = staff_client.post(reverse("admin:mfa_authenticator_delete", args=[lost.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=colleague).exists()
    other = Client()
    assert _password_login(other, colleague.email)["Location"] != reverse("mfa_authenticate")
    assert other.get("/admin/")["Location"].startswith(reverse("mfa_activate_totp"))


@pytest.mark.django_db
def test_esd8_email_addresses_are_read_only_in_the_admin(staff_client, staff, locker_account):
    """ESD-8: allauth's e-mail addresses cannot be added or edited in the admin: "forgot password" finds an
    account by them too, so an address staff added would open the locker."""
    from allauth.account.models import EmailAddress

    response = staff_client.post(
        reverse("admin:account_emailaddress_add"),
        {
            "user": locker_account.pk,
            "email": "staff.mailbox@distributor.test",
            "verified": "on",
            "primary": "",
        },
    )
    assert response.status_code == 403
    assert not EmailAddress.objects.filter(user=locker_account).exists()


@pytest.mark.django_db
def test_esd8_demo_staff_set_up_totp_at_their_first_admin_visit(client):
    """ESD-8: seed_demo's staff users (run twice: idempotent) sign in with the demo password, are sent to
    TOTP setup at /admin/, activate it, and then reach the admin with a code."""
    call_command("seed_demo", stock=1, stdout=_Sink())
    call_command("seed_demo", stock=1, stdout=_Sink())
    assert User.objects.filter(email__in=["admin@demo.test", "support@demo.test"], is_staff=True).count() == 2
    assert _password_login(client, "admin@demo.test", "demo-pass-2026").status_code == 302
    setup = client.get("/admin/")
    assert setup["Location"].startswith(reverse("mfa_activate_totp"))
    html = _open_totp_activation(client, "demo-pass-2026")
    response = client.post(reverse("mfa_activate_totp"), {"code": fresh_totp_code(_secret_on(html))})
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    # The session that set TOTP up shows a code once more before the admin opens.
    reauth = client.get("/admin/")
    assert reauth["Location"].startswith(reverse("mfa_reauthenticate"))
    client.post(reauth["Location"], {"code": recovery_codes(User.objects.get(email="admin@demo.test"))[0]})
    assert ADMIN_HOME in client.get("/admin/").content.decode()
    call_command("seed_demo", stock=1, stdout=_Sink())  # a third run keeps the authenticator
    assert User.objects.get(email="admin@demo.test").authenticator_set.filter(type="totp").exists()


class _Sink:
    def write(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def _now() -> float:
    import time

    return time.time()
