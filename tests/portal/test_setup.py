import base64
import json
import os
import re
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog.models import Product
from locker.models import ProductKey
from tests.factories import org_of, random_key

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    prefixes = (
        "PYTEST",
        "LOCKER_",
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "SECURE_",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_lock3_production_refuses_to_start_without_secrets():
    """LOCK-3: with DEBUG off, no SECRET_KEY or master keys means no start at all."""
    result = _run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "LOCKER_MASTER_KEYS" in result.stderr
    assert "CELERY_BROKER_URL" in result.stderr and "CACHE_URL" in result.stderr
    assert "EMAIL_URL" in result.stderr


def _production(**extra: str) -> dict[str, str]:
    """The production settings the README's Configuration section lists, with fresh secrets."""
    key = _run_manage("locker_newkey").stdout.strip()
    env = {
        "DEBUG": "false",
        "DATABASE_URL": "sqlite:////tmp/portal-check.sqlite3",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOCKER_MASTER_KEYS": key,
        "LOCKER_HASH_KEY": _run_manage("locker_newkey").stdout.strip(),
        "ALLOWED_HOSTS": "portal.test",
    }
    env.update(extra)
    return env


@pytest.mark.parametrize("email_url", ["", "consolemail://", "filemail:///tmp/mails", "dummymail://"])
def test_all2_production_refuses_to_start_without_a_real_mail_server(email_url):
    """ALL-2, ESD-9: with DEBUG off and no SMTP server the portal printed welcome mails, set-password links
    and all, to the worker's log; now it does not start."""
    env = _production(EMAIL_URL=email_url) if email_url else _production()
    if not email_url:
        del env["EMAIL_URL"]
    result = _run_manage("check", **env)
    assert result.returncode != 0 and "EMAIL_URL" in result.stderr


def _readme_production_env() -> dict[str, str]:
    """The `.env` block of the README's "Production settings", its placeholders filled with fresh values."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- production-env -->\n```sh\n(.*?)```\n<!-- /production-env -->", readme, re.S)
    assert block, "README: the production-env block is missing"
    env: dict[str, str] = {}
    for line in block.group(1).splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line:
            continue
        name, _, value = line.partition("=")

        def fill(match: re.Match[str]) -> str:
            if "locker_newkey" in match.group(0):
                return _run_manage("locker_newkey").stdout.strip()
            return secrets.token_urlsafe(50) if "random" in match.group(0) else "placeholder"

        env[name] = re.sub(r"<[^>]+>", fill, value)
    return env


def test_production_settings_pass_check_deploy_with_https_on_by_default():
    """The production settings of the README pass `check --deploy --fail-level WARNING`: HSTS, the SSL
    redirect and secure cookies are on by default with DEBUG off; compose and `make bench` opt out."""
    result = _run_manage("check", "--deploy", "--fail-level", "WARNING", **_production())
    assert result.returncode == 0, result.stderr
    readme_env = _readme_production_env()
    assert {"SECRET_KEY", "LOCKER_MASTER_KEYS", "EMAIL_URL", "BEHIND_TLS_PROXY"} <= set(readme_env)
    result = _run_manage("check", "--deploy", "--fail-level", "WARNING", **readme_env)
    assert result.returncode == 0, result.stderr
    shown = _run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)",
        **_production(),
    )
    assert shown.stdout.strip().splitlines()[-1].split() == ["True", "31536000"], shown.stderr
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "SECURE_SSL_REDIRECT: ${SECURE_SSL_REDIRECT:-false}" in compose
    assert "SECURE_HSTS_SECONDS: ${SECURE_HSTS_SECONDS:-0}" in compose


def test_the_dockerfiles_build_step_runs_with_the_settings_it_gives():
    """The image's collectstatic step (run with DEBUG off and throw-away values) passes the production
    start-up checks; before, it lacked DATABASE_URL, CELERY_BROKER_URL and CACHE_URL and could not build."""
    text = (ROOT / "Dockerfile").read_text()
    step = re.search(r"RUN (DEBUG=false \\.*?python manage\.py collectstatic --noinput)", text, re.S)
    assert step, "the Dockerfile collects static files with DEBUG off"
    command = step.group(1).replace("python ", f"{sys.executable} ") + " --dry-run"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DEBUG", "DATABASE_URL"))}
    result = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_lock3_production_starts_with_real_secrets():
    key = _run_manage("locker_newkey").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    result = _run_manage(
        "check",
        DEBUG="false",
        DATABASE_URL="sqlite:////tmp/portal-check.sqlite3",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
        EMAIL_URL="smtp://127.0.0.1:25",
        SECRET_KEY="x" * 50,
        LOCKER_MASTER_KEYS=key,
        LOCKER_HASH_KEY=_run_manage("locker_newkey").stdout.strip(),
        ALLOWED_HOSTS="portal.test",
    )
    assert result.returncode == 0, result.stderr


def test_lock3_malformed_master_key_is_a_check_error():
    result = _run_manage("check", LOCKER_MASTER_KEYS="bm90LWEta2V5")
    assert result.returncode != 0 and "portal.E001" in result.stderr


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["database"] == "ok" and "broker" in body


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_no_key():
    out = StringIO()
    call_command("seed_demo", "--password", "Demo-Pass-12345", stdout=out)
    call_command("seed_demo", "--password", "Demo-Pass-12345", stdout=out)
    assert set(Product.objects.values_list("sku", flat=True)) == {
        "W81",
        "W81-PRO",
        "O2013-HB",
        "O365-BUS",
        "O2011-MAC",
        "WS2012-STD",
        "CS-STD",  # the distributor's own software, licensed with support (the customer centre)
        "CS-PRO",
    }
    assert not Product.objects.get(sku="WS2012-STD").esd_eligible
    assert not Product.objects.filter(sku__startswith="CS-", esd_eligible=True).exists()
    assert (
        User.objects.filter(
            email__in=[
                "admin@demo.test",
                "reseller@demo.test",
                "other@demo.test",
                "support@demo.test",
                "licensing@demo.test",
            ]
        ).count()
        == 5
    )
    assert ProductKey.objects.filter(product__sku="W81").count() == 25
    assert User.objects.get(email="reseller@demo.test").check_password("Demo-Pass-12345")
    assert org_of(User.objects.get(email="reseller@demo.test")) != org_of(
        User.objects.get(email="other@demo.test")
    )
    assert not re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", out.getvalue())


@pytest.mark.django_db
def test_lock5_import_keys_command_reports_counts_and_never_prints_a_key(tmp_path):
    """LOCK-5: the command prints counts and line numbers, never a key."""
    call_command("seed_demo", stdout=StringIO())
    keys = [random_key() for _ in range(3)]
    file = tmp_path / "keys.txt"
    file.write_text("\n".join([keys[0], keys[1], keys[0], "garbage!", keys[2], ""]) + "\n")
    out = StringIO()
    call_command("import_keys", "O365-BUS", str(file), stdout=out)
    text = out.getvalue()
    assert "imported 3, rejected 2 (1 duplicate, 1 malformed)" in text
    assert "Duplicate lines: 3" in text and "Malformed lines: 4" in text
    for k in keys:
        assert k not in text and k[-5:] not in text


@pytest.mark.django_db
def test_pages_and_api_answers_are_private_to_caches_and_reveals_stay_no_store(client, reseller, settings):
    """Pages with customer data carry `Cache-Control: private` (a shared proxy never stores them); a view's
    own choice (the reveal's no-store) is kept."""
    from rest_framework.test import APIClient

    from api.services import api_token_create

    client.force_login(reseller)
    for url in ("/orders/", "/settings/mail-domains/", "/accounts/login/"):
        response = client.get(url, follow=False)
        assert "private" in response["Cache-Control"], url
    _record, token = api_token_create(organisation=org_of(reseller), user=reseller, name="shop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert "private" in api.get("/api/v1/orders/")["Cache-Control"]
    created = client.post("/settings/api-tokens/", {"name": "again"})
    assert created["Cache-Control"].startswith("no-store")
