"""Database backends of the portal (ENGINE "core.db.postgresql") and ``prepared_cursor``."""

from __future__ import annotations

from typing import Any

from django.db import connection


def prepared_cursor() -> Any:
    """A cursor of the default database for the portal's few hand-written queries that run on every page
    (the signed-in user, the order list, the locker).

    On PostgreSQL it binds parameters on the server, so psycopg prepares a query once it has run it a few
    times on a connection (``prepare_threshold``, 5) and PostgreSQL plans it once per connection instead of
    on every page: planning the locker's query cost as much as running it. Elsewhere (SQLite) an ordinary
    cursor. Use it as ``connection.cursor()``: ``with prepared_cursor() as cursor: ...``. Only for queries
    with ``%s`` parameters and no literal ``%``.
    """

    make = getattr(connection, "prepared_cursor", None)
    return make() if make is not None else connection.cursor()
