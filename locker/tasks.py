"""Locker work for the workers: bulk imports and the retention purge (ALL-5: idempotent, ids in)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .services import key_import_run, keys_purge_expired


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=10)
def run_key_import(import_id: str) -> str:
    return key_import_run(import_id=import_id).status


@shared_task
def purge_expired_keys() -> int:
    return keys_purge_expired()
