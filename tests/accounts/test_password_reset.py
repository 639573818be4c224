import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.services import locker_account_for_email
from orders.mail import set_password_url

NEW_PASSWORD = "Blue-Harbour-Lantern-42"


def _link(text: str) -> str:
    match = re.search(r"https?://[^\s\"<]+/accounts/password/reset/key/[^\s\"<]+", text)
    assert match, text
    return match.group(0)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.mark.django_db
def test_esd13_reset_answers_the_same_for_unknown_addresses(client, end_customer):
    """ESD-13: the first step's answer does not tell whether the address has an account."""
    known = client.post(reverse("account_reset_password"), {"email": end_customer.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@nowhere.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]

    def page(url: str) -> str:  # the masked CSRF token differs on every render; nothing else may
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", client.get(url).content.decode())

    assert page(known["Location"]) == page(unknown["Location"])


@pytest.mark.django_db
def test_esd13_locker_account_without_password_resets_and_logs_in(client, end_customer):
    """ESD-13, ESD-12: a locker account that never got its mail uses "forgot password" and gets in."""
    assert not end_customer.has_usable_password()
    client.post(reverse("account_reset_password"), {"email": "Customer@End.test"})
    assert len(mail.outbox) == 1
    link = _path(_link(mail.outbox[0].body))
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    html = response.content.decode()
    assert 'name="email"' in html and 'name="password1"' in html and 'name="password2"' in html

    # A forwarded link alone is not enough: the account's address is asked for again.
    response = client.post(
        form_url, {"email": "someone@else.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert "not the address this link was sent to" in response.content.decode()
    assert 'value="someone@else.test"' in response.content.decode()
    end_customer.refresh_from_db()
    assert not end_customer.has_usable_password()

    response = client.post(
        form_url, {"email": "customer@end.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    end_customer.refresh_from_db()
    assert end_customer.check_password(NEW_PASSWORD) and end_customer.password_set_at is not None
    client.logout()
    response = client.post(reverse("account_login"), {"login": "customer@end.test", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("locker:index")).status_code == 200


@pytest.mark.django_db
def test_esd9_welcome_set_password_link_works_once(client):
    """ESD-9, ESD-13: the welcome mail's set-password link asks for the address and dies once used."""
    account = locker_account_for_email(email="fresh@end.test")
    link = _path(set_password_url(account))
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    assert (
        client.post(
            form_url, {"email": "fresh@end.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        ).status_code
        == 302
    )
    client.logout()
    again = client.get(link, follow=True).content.decode()
    assert 'name="password1"' not in again


@pytest.mark.django_db
def test_set_password_links_die_when_the_account_bumps_its_generation(client):
    """Every link issued so far stops working when the account's link generation moves on."""
    account = locker_account_for_email(email="gen@end.test")
    link = _path(set_password_url(account))
    User.objects.filter(pk=account.pk).update(link_generation=1)
    html = client.get(link, follow=True).content.decode()
    assert 'name="password1"' not in html


@pytest.mark.django_db
def test_nobody_can_sign_up(client):
    response = client.get("/accounts/signup/")
    assert response.status_code in (200, 302, 403)
    assert 'name="password1"' not in response.content.decode()


@pytest.mark.ratelimits
@pytest.mark.django_db
def test_esd13_reset_requests_are_rate_limited_per_address(client, end_customer):
    """Allauth's limits live in the configured cache (Redis in CI): at most 5 resets a minute per address.
    Its own address and client address keep it apart from other tests (the cache is shared: never clear it)."""
    import uuid

    address = f"limited-{uuid.uuid4().hex[:8]}@end.test"
    ip = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    codes = [
        client.post(reverse("account_reset_password"), {"email": address}, REMOTE_ADDR=ip).status_code
        for _ in range(7)
    ]
    assert codes[:5] == [302] * 5
    assert 429 in codes[5:]
