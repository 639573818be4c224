"""The signed token of a mailed link (a registration, a new e-mail address, a web-form request): the values
that name its record, signed with the link's own salt (``django.core.signing``), never stored. Whether the
record is still there and the link still alive is the reader's to check; its age can be checked here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import signing


def link_token(values: list[Any], *, salt: str) -> str:
    return signing.dumps(values, salt=salt, compress=True)


def link_values(token: str, *, salt: str, size: int, max_age: timedelta | None = None) -> list[Any] | None:
    """The ``size`` values a link's token carries; None for a forged token, one signed with another salt,
    one older than ``max_age`` and a malformed one alike."""
    try:
        values = signing.loads(token, salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    return values
