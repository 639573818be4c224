"""Authentication backends that load the signed-in user with their membership and organisation.

Every page needs ``request.user.membership.organisation`` (tenancy, the navigation), so the user is read
with both in one query instead of one query for each of the three. On PostgreSQL that query is written
out: built by the ORM (``select_related``) it cost as much as a whole simple page. Login itself
(``authenticate``) is unchanged: Django's password check and allauth's e-mail login.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connection, models

from core.dates import parse_db_timestamp
from core.db import prepared_cursor

from .models import Membership, Organisation, User

_Part = tuple[type[models.Model], list[str], list[bool], int]


@cache
def _user_query() -> tuple[str, list[_Part]] | None:
    """The SQL, and per model its attribute names, which columns are timestamps (read as text) and where
    its primary key is. Built from the models' fields, so a field a migration adds is read without a
    change here; None (the ORM reads the user) if a field converts what it reads (``from_db_value``).
    """
    parts: list[_Part] = []
    columns: list[str] = []
    models_: tuple[tuple[type[models.Model], str], ...] = (
        (User, "u"),
        (Membership, "m"),
        (Organisation, "o"),
    )
    for model, alias in models_:
        fields = model._meta.concrete_fields
        if any(hasattr(f, "from_db_value") for f in fields):
            return None
        is_time = [isinstance(f, models.DateTimeField) for f in fields]
        columns += [
            f'CAST({alias}."{f.column}" AS VARCHAR)' if t else f'{alias}."{f.column}"'
            for f, t in zip(fields, is_time, strict=True)
        ]
        parts.append((model, [f.attname for f in fields], is_time, list(fields).index(model._meta.pk)))
    # Table and column names come from the models; the id is a query parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {User._meta.db_table} u "  # noqa: S608
        f'LEFT JOIN {Membership._meta.db_table} m ON m."user_id" = u."id" '
        f'LEFT JOIN {Organisation._meta.db_table} o ON o."id" = m."organisation_id" '
        'WHERE u."id" = %s'
    )
    return sql, parts


def _load_user(sql: str, parts: list[_Part], user_id: int) -> User | None:
    """The user with ``user.membership.organisation`` loaded (``membership`` None if there is none)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    instances: list[models.Model | None] = []
    start = 0
    for model, attnames, is_time, pk_index in parts:
        values = [
            parse_db_timestamp(v) if t else v
            for v, t in zip(row[start : start + len(attnames)], is_time, strict=True)
        ]
        start += len(attnames)
        # A missing membership (a locker account, staff) comes as a row of NULLs, primary key included.
        instances.append(
            model.from_db(connection.alias, attnames, values) if values[pk_index] is not None else None
        )
    user, membership, organisation = instances
    assert isinstance(user, User)
    # What select_related("membership__organisation") leaves in the caches, both ways.
    user_field = Membership._meta.get_field("user")
    user_field.remote_field.set_cached_value(user, membership)  # type: ignore[union-attr]
    if membership is not None:
        user_field.set_cached_value(membership, user)  # type: ignore[union-attr]
        Membership._meta.get_field("organisation").set_cached_value(membership, organisation)  # type: ignore[union-attr]
    return user


class _UserWithOrganisation:
    def get_user(self, user_id: Any) -> Any:
        query = _user_query() if connection.vendor == "postgresql" else None
        if query is not None:
            try:
                user = _load_user(*query, int(user_id))
            except (TypeError, ValueError):
                return None
        else:
            # Elsewhere (SQLite while developing) the ORM reads it, converting values its own way.
            try:
                user = User._default_manager.select_related("membership__organisation").get(pk=user_id)
            except (User.DoesNotExist, TypeError, ValueError):
                return None
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_UserWithOrganisation, DjangoModelBackend):
    """Django's backend (used by ``force_login`` and the admin), reading the user in one query."""


class AuthenticationBackend(_UserWithOrganisation, AllauthBackend):
    """allauth's e-mail login, reading the user in one query."""
