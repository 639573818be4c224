from __future__ import annotations

from typing import Any

from core.tasking import enqueue_on_commit

from .models import WebhookEndpoint


def on_order_events_recorded(sender: Any, **kwargs: Any) -> None:
    """New order events committed: a worker turns them into deliveries now, not at the next sweep."""
    # Most organisations have no endpoint: then there is nothing to dispatch and no task is spent on it.
    if WebhookEndpoint.objects.filter(active=True).exists():
        enqueue_on_commit("webhooks.tasks.dispatch_events")
