import base64
import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog.models import Product
from locker.models import ProductKey
from tests.factories import random_key

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    prefixes = ("PYTEST", "LOCKER_", "SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
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


def test_lock3_production_starts_with_real_secrets():
    key = _run_manage("locker_newkey").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    result = _run_manage(
        "check",
        DEBUG="false",
        DATABASE_URL="sqlite:////tmp/portal-check.sqlite3",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
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
    }
    assert not Product.objects.get(sku="WS2012-STD").esd_eligible
    assert (
        User.objects.filter(
            email__in=["admin@demo.test", "reseller@demo.test", "other@demo.test", "support@demo.test"]
        ).count()
        == 4
    )
    assert ProductKey.objects.filter(product__sku="W81").count() == 25
    assert User.objects.get(email="reseller@demo.test").check_password("Demo-Pass-12345")
    assert (
        User.objects.get(email="reseller@demo.test").membership.organisation
        != User.objects.get(email="other@demo.test").membership.organisation
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
