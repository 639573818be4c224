"""Prepared statements on the server, and what a migration that changes a prepared query's result does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from celery.signals import task_failure
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, connection

from core.db import STALE_PLAN, close_on_stale_plan, is_stale_plan
from tests.conftest import _database_url, _on_postgres

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not _on_postgres(), reason="prepared statements are PostgreSQL's"),
]

PROBE = "SELECT v FROM core_db_probe WHERE id = %s"


@pytest.fixture
def probe() -> Iterator[psycopg.Connection[Any]]:
    """A table of the test's own, and a second connection (another process, say `migrate`) to alter it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE core_db_probe (id integer PRIMARY KEY, v integer)")
        cursor.execute("INSERT INTO core_db_probe VALUES (1, 7)")
    other = psycopg.connect(_database_url().replace("postgres://", "postgresql://"), autocommit=True)
    try:
        yield other
    finally:
        other.close()
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS core_db_probe")


def _prepared_here() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%core_db_probe%%'")
        return int(cursor.fetchone()[0])


def _read() -> Any:
    with connection.cursor() as cursor:
        cursor.execute(PROBE, [1])
        return cursor.fetchone()[0]


def _prepare_then_alter(other: psycopg.Connection[Any]) -> None:
    for _ in range(settings.DATABASE_PREPARE_THRESHOLD + 1):
        assert _read() == 7
    assert _prepared_here() == 1, "the page's query is prepared on this connection"
    other.execute("ALTER TABLE core_db_probe ALTER COLUMN v TYPE text USING v::text")


def test_queries_run_often_are_prepared_once_per_connection(probe):
    """The settings bind parameters on the server and let psycopg prepare repeated queries."""
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == settings.DATABASE_PREPARE_THRESHOLD > 0
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == settings.DATABASE_PREPARE_THRESHOLD
    assert _prepared_here() == 0
    for _ in range(settings.DATABASE_PREPARE_THRESHOLD + 1):
        _read()
    assert _prepared_here() == 1


def test_a_stale_plan_fails_until_its_connection_is_closed(probe):
    """Why core.db exists: after another connection changes the column's type, the prepared query fails on
    every run on this connection; closing it is what ends that."""
    _prepare_then_alter(probe)
    for _ in range(2):
        with pytest.raises(DatabaseError) as caught:
            _read()
        assert is_stale_plan(caught.value) and STALE_PLAN in str(caught.value)
    assert close_on_stale_plan(caught.value) is True
    assert connection.connection is None
    assert _read() == "7"


def test_a_request_that_failed_on_a_stale_plan_closes_its_connection(probe):
    """Django's ``got_request_exception`` (sent while the request's exception is handled) closes it."""
    _prepare_then_alter(probe)
    try:
        _read()
    except DatabaseError:
        got_request_exception.send(sender=None, request=None)
    assert connection.connection is None
    assert _read() == "7"


def test_a_task_that_failed_on_a_stale_plan_closes_its_connection(probe):
    """Celery's ``task_failure`` does the same for a worker's connection."""
    _prepare_then_alter(probe)
    with pytest.raises(DatabaseError) as caught:
        _read()
    task_failure.send(sender=None, task_id="t", exception=caught.value)
    assert connection.connection is None
    assert _read() == "7"


def test_other_errors_leave_the_connection_open(probe):
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM core_db_probe")
    assert not is_stale_plan(caught.value)
    assert close_on_stale_plan(caught.value) is False
    assert close_on_stale_plan(None) is False
    assert connection.connection is not None
