"""System checks on the locker's secrets (LOCK-3); missing secrets with DEBUG off stop settings loading."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


def _is_32_byte_b64(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@register()
def check_locker_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for i, key in enumerate(settings.LOCKER_MASTER_KEYS):
        if not _is_32_byte_b64(key):
            errors.append(
                Error(
                    f"LOCKER_MASTER_KEYS entry {i + 1} is not a base64-encoded 32-byte key.",
                    hint="Make one with `python manage.py locker_newkey`.",
                    id="portal.E001",
                )
            )
    if not _is_32_byte_b64(settings.LOCKER_HASH_KEY):
        errors.append(
            Error(
                "LOCKER_HASH_KEY is not a base64-encoded 32-byte key.",
                hint="Make one with `python manage.py locker_newkey`; never change it afterwards.",
                id="portal.E002",
            )
        )
    if settings.LOCKER_RETENTION_DAYS < 730:
        errors.append(
            Error(
                f"LOCKER_RETENTION_DAYS is {settings.LOCKER_RETENTION_DAYS}; keys must stay retrievable "
                "for at least 730 days (ESD-11).",
                id="portal.E003",
            )
        )
    return errors
