"""Django's PostgreSQL backend, with a health check of kept connections that costs no round trip and a
cursor whose queries PostgreSQL can keep prepared.

Health check: with ``CONN_HEALTH_CHECKS`` Django checks a kept connection before the first query of every
request by sending ``SELECT 1``: a round trip to the server on every page, which under load costs as much
as a small query. Between requests a connection is idle, and an idle PostgreSQL connection has nothing to
read unless the server has spoken: to say goodbye (a restart, ``pg_terminate_backend``, an idle-session
timeout) or, rarely, with a notice. So the check here first asks the operating system, without waiting,
whether the socket has anything to read: nothing means the server has not closed it, and the connection
is used; anything means Django's own check decides (a goodbye fails it and Django opens a new connection;
a notice passes it). A connection that is gone without a word (a cable pulled) is not found by either
check before the query that uses it.

Prepared queries: see ``core.db.prepared_cursor``. psycopg prepares them with the extended protocol, so
a PgBouncer between the portal and PostgreSQL in transaction mode needs ``max_prepared_statements`` set
(PgBouncer 1.21 or later).
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import errors
from psycopg.pq import Format, TransactionStatus

_ServerBindingCursor: Any = base.ServerBindingCursor  # Django's psycopg Cursor with callproc()


class _PreparingCursor(_ServerBindingCursor):
    """Binds parameters on the server, so psycopg prepares the queries it runs repeatedly.

    A migration run by another process can change the type of a column such a prepared query reads;
    PostgreSQL then refuses the statement ("cached plan must not change result type") until it is
    deallocated. Outside a transaction the connection's prepared statements are dropped here and the query
    runs once more; inside one the error stands, and the transaction's rollback drops them (psycopg clears
    them on rollback), so the next attempt succeeds.
    """

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        try:
            return super().execute(query, params, **kwargs)
        except errors.FeatureNotSupported:
            if self.connection.info.transaction_status != TransactionStatus.IDLE:
                raise
            # psycopg sees the DEALLOCATE ALL and forgets the names it kept, too.
            super().execute("DEALLOCATE ALL")
            return super().execute(query, params, **kwargs)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        """The query with its parameters, for the query log (DEBUG, tests). psycopg keeps the text of a
        prepared_cursor query only with placeholders, and none once it runs prepared: it is composed here
        from ``sql`` and ``params`` on the client, as Django does for client-side binding."""
        if isinstance(cursor, base.ServerBindingCursor):
            try:
                return str(self.compose_sql(sql, params))
            except Exception:  # only a log line: the query itself ran
                return sql
        query: str = super().last_executed_query(cursor, sql, params)
        return query


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            # Django turns psycopg's preparing off. Only prepared_cursor's cursors bind on the server, so only
            # their queries are prepared (after 5 runs on a connection); the ORM's cursors bind on the client
            # and never are.
            params["prepare_threshold"] = 5
        return params

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return bool(super().is_usable())  # mid-transaction or after an error there: ask the server
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            ready = poller.poll(0)
        except (OSError, ValueError):
            return False
        if not ready:
            return True
        return bool(super().is_usable())

    def prepared_cursor(self) -> Any:
        """Like ``cursor()``, but parameters are bound on the server, so psycopg may prepare the query."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = _PreparingCursor(self.connection)
            # As Django's create_cursor does: timestamps read in the connection's time zone.
            tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != tzloader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)  # type: ignore[attr-defined]
