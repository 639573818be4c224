"""A database connection whose prepared statements went stale is closed at their first failure.

psycopg prepares a statement once a connection has run it often enough (settings:
``DATABASE_PREPARE_THRESHOLD``). When a migration then changes what such a statement returns (a column's
type, say), PostgreSQL refuses to run the prepared plan ("cached plan must not change result type") on that
connection, every time, until the connection ends. A rolled-back transaction makes psycopg forget its
statements, but a query that failed outside any transaction leaves them, and Django keeps a connection that
still answers its health check. So whatever lets such an error escape (a request, a Celery task) closes the
connection it came from: the next request or task opens a fresh one and prepares again.
"""

from __future__ import annotations

import sys
from typing import Any

import psycopg.errors
from django.db import connections

STALE_PLAN = "cached plan must not change result type"


def is_stale_plan(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from is PostgreSQL refusing a stale prepared plan."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg.errors.FeatureNotSupported) and STALE_PLAN in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def close_on_stale_plan(exc: BaseException | None) -> bool:
    """Close every open connection of this thread if ``exc`` comes from a stale prepared plan."""
    if not is_stale_plan(exc):
        return False
    for connection in connections.all(initialized_only=True):
        connection.close()
    return True


def on_request_exception(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver (Django passes no exception: it is the one being handled)."""
    close_on_stale_plan(sys.exc_info()[1])


def on_task_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """Celery's ``task_failure`` receiver."""
    close_on_stale_plan(exception)
