"""Kept database connections: checked before each request without a round trip, and replaced when the
server has closed them (a restart, a terminated backend), so a request or task after an outage is served
on a new connection instead of failing (ALL-5)."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections, connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
    """What Django does when a request (or, in portal.celery, a task) starts."""
    close_old_connections()


def test_a_healthy_kept_connection_is_checked_without_a_query_all_5() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'before the check'")
    pid = connection.connection.info.backend_pid
    kept = connection.connection

    _start_request()
    connection.close_if_health_check_failed()  # what the request's first query does first
    assert connection.health_check_done
    # The connection was kept, and the check sent nothing: the server's last query on it is still the
    # one before the check (Django's own check would show SELECT 1 here).
    assert connection.connection is kept
    assert _backend_query(pid) == "SELECT 'before the check'"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == pid


def test_a_connection_the_server_closed_is_replaced_before_the_next_request_all_5() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    old_pid = connection.connection.info.backend_pid

    _terminate(old_pid)  # as a PostgreSQL restart or an idle-session timeout would
    _start_request()
    with connection.cursor() as cursor:  # would raise OperationalError on the dead connection
        cursor.execute("SELECT pg_backend_pid()")
        new_pid = cursor.fetchone()[0]

    assert new_pid != old_pid


def test_a_kept_connection_without_health_checks_fails_once_the_server_closed_it_all_5() -> None:
    """The check is what saves the request: without it the first query after the goodbye fails."""
    from django.db.utils import OperationalError

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    _terminate(connection.connection.info.backend_pid)
    connection.health_check_enabled = False
    try:
        _start_request()
        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
        connection.health_check_enabled = True


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_pages_hot_queries_are_prepared_once_per_connection_and_the_orms_are_not() -> None:
    """The signed-in user's query (every page) is planned once per connection, not on every request; the
    ORM's queries bind on the client and are never prepared (Django's default, kept for them)."""
    from accounts.backends import ModelBackend
    from accounts.models import User

    user = User.objects.create_user(email="prepared@example.test", password="x" * 12)
    backend = ModelBackend()
    for _ in range(6):  # psycopg prepares a query on its 5th run on a connection
        loaded = backend.get_user(user.pk)
        assert loaded is not None and loaded.email == "prepared@example.test"
        assert User.objects.filter(pk=user.pk).exists()

    statements = _prepared_statements()
    assert len([s for s in statements if "FROM accounts_user u LEFT JOIN" in s]) == 1
    assert not [s for s in statements if "EXISTS" in s.upper() or "LIMIT 1" in s]

    # A prepared query still reads what is there now, not what was there when it was prepared.
    User.objects.filter(pk=user.pk).update(email="renamed@example.test")
    reloaded = backend.get_user(user.pk)
    assert reloaded is not None and reloaded.email == "renamed@example.test"


def test_prepared_queries_show_in_the_query_log_with_their_parameters() -> None:
    """Query counting (the pages' constant-query tests) and DEBUG's log see prepared queries too."""
    from django.test.utils import CaptureQueriesContext

    from accounts.backends import ModelBackend
    from accounts.models import User

    user = User.objects.create_user(email="logged@example.test", password="x" * 12)
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(7):
            ModelBackend().get_user(user.pk)
    assert len(ctx.captured_queries) == 7
    assert all(f'WHERE u."id" = {user.pk}' in q["sql"] for q in ctx.captured_queries)


def test_a_prepared_query_survives_a_migration_that_changes_a_column_it_reads() -> None:
    """A deploy's migration, run by another process, changes the type of a column the signed-in user's
    prepared query reads: the next page still loads the user instead of failing on every request."""
    from accounts.backends import ModelBackend
    from accounts.models import User

    user = User.objects.create_user(email="migrated@example.test", password="x" * 12)
    backend = ModelBackend()
    for _ in range(6):
        backend.get_user(user.pk)
    assert any("accounts_user u" in s for s in _prepared_statements())
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE accounts_user ALTER COLUMN full_name TYPE varchar(201)")
        for _ in range(3):
            loaded = backend.get_user(user.pk)
            assert loaded is not None and loaded.email == "migrated@example.test"
    finally:
        with other.cursor() as cursor:
            cursor.execute("ALTER TABLE accounts_user ALTER COLUMN full_name TYPE varchar(200)")
        other.close()
