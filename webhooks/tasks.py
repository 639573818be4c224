from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=10)
def dispatch_events() -> int:
    return services.dispatch_events()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=10)
def deliver_webhook(delivery_id: str) -> str:
    """One try; on failure the next one is scheduled with exponential backoff (30 s, 1 min, … 1 h) for a day.

    In-process mode (no broker) has no timers: there the next try waits for the sweep.
    """
    outcome, retry_in = services.deliver(delivery_id=delivery_id)
    if outcome == "retry" and not deliver_webhook.app.conf.task_always_eager:
        deliver_webhook.apply_async((delivery_id,), countdown=retry_in)
    return outcome


@shared_task
def sweep_webhooks() -> int:
    services.dispatch_events()
    due = services.deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
