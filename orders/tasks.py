"""Thin, idempotent tasks: ids in, one service call, retries on named transient errors (ALL-5)."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from django.db import OperationalError

from . import mail, services

MAIL_MAX_RETRIES = 8


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=10,
)
def fulfil_order(order_id: int) -> str:
    return services.order_fulfil(order_id=order_id).status


@shared_task(bind=True, max_retries=MAIL_MAX_RETRIES)
def send_welcome_mail(self: Any, order_id: int) -> bool:
    try:
        return mail.welcome_mail_send(order_id=order_id)
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.retries >= MAIL_MAX_RETRIES:
            mail.welcome_mail_failed(order_id=order_id, reason=f"{exc.__class__.__name__}: {exc}")
            return False
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from None


@shared_task
def sweep_orders() -> dict[str, int]:
    return services.orders_sweep()


@shared_task
def retry_orders_for_products(product_ids: list[int]) -> int:
    return services.orders_retry_for_products(product_ids=product_ids)
