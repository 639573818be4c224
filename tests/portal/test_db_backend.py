"""Database connections (portal/settings.py): Django's own PostgreSQL backend, one connection per process
kept between requests and tasks for CONN_MAX_AGE, checked before reuse (CONN_HEALTH_CHECKS) and replaced
when the server has closed it (a restart, a terminated backend), so a request or task after an outage is
served on a new connection instead of failing (ALL-5). Parameters are bound on the server and repeated
queries prepared once per connection (DATABASE_PREPARE_THRESHOLD); core.db closes a connection whose
prepared statements a migration made stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.signals import task_postrun, task_prerun
from django.conf import settings as django_settings
from django.db import close_old_connections, connection, connections
from django.db.utils import OperationalError

from accounts.models import User
from portal.tasks import noop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_connection() -> None:
    """Each test starts on a new connection: one the worker kept from earlier tests may be older than
    CONN_MAX_AGE, and Django then closes it at the request start, which is not what these tests look at."""
    connection.close()


def _backend_query(pid: int) -> str | None:
    """What the server last ran for backend ``pid`` (None once the backend is gone), seen from another
    connection."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
        return row[0] if row else None
    finally:
        other.close()


def _terminate(pid: int) -> None:
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    deadline = time.monotonic() + 10
    while _backend_query(pid) is not None:
        assert time.monotonic() < deadline, "the backend was not terminated"
        time.sleep(0.05)


def _start_request() -> None:
    """What Django does when a request starts (and portal.celery before each task)."""
    close_old_connections()


def _pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_all5_the_connection_is_djangos_own_kept_checked_and_prepares_what_it_repeats() -> None:
    """The stock backend, no pool, a kept connection with health checks; parameters bound on the server and
    a query prepared once it has run DATABASE_PREPARE_THRESHOLD times on the connection (core.db, and
    tests/core/test_db.py for what a migration does to prepared queries)."""
    assert type(connections["default"]).__module__ == "django.db.backends.postgresql.base"
    settings = connection.settings_dict
    assert settings["CONN_HEALTH_CHECKS"] is True and settings["CONN_MAX_AGE"] > 0
    assert "pool" not in settings["OPTIONS"]
    threshold = django_settings.DATABASE_PREPARE_THRESHOLD
    assert settings["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": threshold}
    user = User.objects.create_user(email="kept@example.test", password="x" * 12)

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements"
                " WHERE statement LIKE '%%accounts_user%%' AND statement NOT LIKE '%%pg_prepared%%'"
            )
            return int(cursor.fetchone()[0])

    for _ in range(threshold):
        assert User.objects.filter(pk=user.pk).exists()
    before = prepared()
    for _ in range(3):
        assert User.objects.filter(pk=user.pk).exists()
    assert connection.connection.prepare_threshold == threshold
    assert prepared() == before + 1  # the same statement, prepared once, for every later run


def test_all5_a_healthy_kept_connection_serves_the_next_request_after_a_check() -> None:
    pid = _pid()
    kept = connection.connection

    _start_request()
    connection.close_if_health_check_failed()  # what the request's first query does first
    assert connection.health_check_done and connection.connection is kept
    assert _backend_query(pid) == "SELECT 1"  # Django's check reached the server
    assert _pid() == pid


def test_all5_a_connection_the_server_closed_is_replaced_before_the_next_request() -> None:
    old_pid = _pid()

    _terminate(old_pid)  # as a PostgreSQL restart or an idle-session timeout would
    _start_request()
    assert _pid() != old_pid  # would raise OperationalError on the dead connection


def test_all5_a_connection_the_server_closed_is_replaced_before_the_next_task() -> None:
    """portal.celery treats a task like a request: before it starts, a dead connection is noticed and
    replaced, and a healthy one is kept."""
    old_pid = _pid()
    task_postrun.send(sender=noop)
    assert _pid() == old_pid

    _terminate(old_pid)
    task_prerun.send(sender=noop)
    assert _pid() != old_pid


def test_all5_a_kept_connection_without_health_checks_fails_once_the_server_closed_it() -> None:
    """The check is what saves the request: without it the first query after the goodbye fails."""
    _terminate(_pid())
    connection.health_check_enabled = False
    try:
        _start_request()
        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
        connection.health_check_enabled = True


def test_a_connection_older_than_conn_max_age_is_replaced_at_the_next_request() -> None:
    old_pid = _pid()
    _start_request()
    assert _pid() == old_pid
    connection.close_at = time.monotonic() - 1  # as CONN_MAX_AGE seconds after it was opened
    _start_request()
    assert connection.connection is None and _pid() != old_pid


def _databases_setting(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DATABASE_URL", "CONN_"))}
    clean.update(env)
    code = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default']))"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_conn_max_age_comes_from_the_environment() -> None:
    """CONN_MAX_AGE (README, Configuration) sets how long a PostgreSQL connection is kept; the stock
    engine is used as the URL names it; SQLite never keeps one (threads share its file)."""
    default = _databases_setting(DATABASE_URL="postgres://portal@db.example.test:5432/portal")
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert default["CONN_MAX_AGE"] == 60 and default["CONN_HEALTH_CHECKS"] is True
    assert (
        _databases_setting(DATABASE_URL="postgres://portal@db/portal", CONN_MAX_AGE="7")["CONN_MAX_AGE"] == 7
    )
    sqlite = _databases_setting(DATABASE_URL="sqlite:////tmp/portal-conn.sqlite3", CONN_MAX_AGE="7")
    assert sqlite["CONN_MAX_AGE"] == 0
