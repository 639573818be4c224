"""The login and set-password pages (issue #13): "Log in" everywhere and no sign-up; "Set your password"
behind the welcome mail's link and, once set, the way straight to the Digital Locker (ESD-9, ESD-13); the
link follows the port `make run` serves."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from orders.mail import set_password_url
from tests.portal.test_design_system import assert_describedby_ids_exist

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "Quiet-Meadow-Falcon-93"


@pytest.mark.django_db
def test_login_page_says_log_in_and_offers_no_sign_up(client):
    """Sign-up is closed: the login page neither links to it nor mentions it, and says "Log in" in its title,
    heading and button (never "Sign In")."""
    html = client.get(reverse("account_login")).content.decode()
    assert "<title>Log in · Software portal</title>" in html and "<h1>Log in</h1>" in html
    assert re.search(r'<button type="submit"[^>]*>Log in</button>', html)
    assert "Sign In" not in html and "sign in" not in html.lower().replace("sign-in", "")
    assert "sign up" not in html.lower() and reverse("account_signup") not in html
    assert reverse("account_reset_password") in html  # "Forgot your password?"
    closed = client.get(reverse("account_signup")).content.decode()
    assert "Sign Up Closed" not in closed and reverse("account_login") in closed


@pytest.mark.django_db
def test_all2_failed_login_keeps_the_address_and_ties_the_error(client, reseller):
    """ALL-2: a wrong password is summarised at the top, the address typed stays, and every
    aria-describedby names an id on the page."""
    response = client.post(reverse("account_login"), {"login": reseller.email, "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200 and 'class="error-summary"' in html
    assert f'value="{reseller.email}"' in html
    assert_describedby_ids_exist(html)


def _set_password(client, user, email: str) -> str:
    link = urlsplit(set_password_url(user)).path
    form_url = client.get(link)["Location"]
    page = client.get(form_url).content.decode()
    assert "<h1>Set your password</h1>" in page and "Change Password" not in page
    assert "<title>Set your password" in page
    assert_describedby_ids_exist(page)
    response = client.post(form_url, {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_esd9_esd13_after_setting_the_password_the_customer_goes_straight_to_the_locker(client, end_customer):
    """ESD-9, ESD-13: the welcome link's page is "Set your password"; afterwards one page says it is set and
    offers "Open my Digital Locker", which logs in and lands in the locker."""
    done = _set_password(client, end_customer, end_customer.email)
    assert "Your password is set" in done and "Open my Digital Locker" in done
    assert done.count("Your password is set") == 2  # the title and the heading: no second message
    login_url = f"{reverse('account_login')}?next={reverse('locker:index')}"
    assert f'href="{login_url}"' in done
    response = client.post(login_url, {"login": end_customer.email, "password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("locker:index")
    locker = client.get(response["Location"]).content.decode()
    assert "My Digital Locker" in locker and "Reseller portal" not in locker


@pytest.mark.django_db
def test_esd13_a_reseller_setting_a_password_is_offered_the_login_not_a_locker(client, reseller):
    """ESD-13: the same pages for a reseller's user end in "Log in", not in a Digital Locker."""
    done = _set_password(client, reseller, reseller.email)
    assert "Your password is set" in done and "Open my Digital Locker" not in done
    assert f'href="{reverse("account_login")}"' in done


@pytest.mark.django_db
def test_esd13_a_wrong_address_on_the_set_password_form_is_shown_by_the_field(client, end_customer):
    """ESD-13, ALL-2: the form asks for the address the link was sent to; a wrong one is an error by the
    field and in the summary, the address typed stays."""
    link = urlsplit(set_password_url(end_customer)).path
    form_url = client.get(link)["Location"]
    html = client.post(
        form_url, {"email": "someone@else.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    ).content.decode()
    assert 'class="error-summary"' in html and 'id="id_email_error"' in html
    assert 'value="someone@else.test"' in html
    assert_describedby_ids_exist(html)


def _make_run_line(target: str, env: dict[str, str]) -> str:
    """The recipe line of `make run PORT=8123` that runs ``target`` (seed_demo, runserver), as make prints it."""
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return next(line for line in dry.splitlines() if f"manage.py {target}" in line)


@pytest.mark.parametrize("given", [None, "https://portal.example.com"])
@pytest.mark.parametrize("target", ["seed_demo", "runserver"])
def test_make_run_links_follow_the_port_it_serves(target, given):
    """`PORT=8123 make run`: the settings seed_demo and runserver start with say PORTAL_BASE_URL
    http://127.0.0.1:8123 (the welcome mail's set-password link is built from it, orders.mail), unless
    PORTAL_BASE_URL is given."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_BASE_URL", "MAKEFLAGS", "MFLAGS")}
    if given:
        env["PORTAL_BASE_URL"] = given
    line = _make_run_line(target, env)
    command = (
        line.split(" manage.py ")[0]
        + " -c "
        + shlex.quote("import portal.settings as s; print(s.PORTAL_BASE_URL)")
    )
    printed = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed == (given or "http://127.0.0.1:8123")


@pytest.mark.django_db
def test_esd9_welcome_link_is_built_from_portal_base_url(settings, end_customer):
    """ESD-9: the set-password link starts with PORTAL_BASE_URL (what `make run` sets from its port)."""
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8123"
    assert set_password_url(end_customer).startswith("http://127.0.0.1:8123/accounts/password/reset/key/")
