"""Infrastructure tasks. ``noop`` is the yardstick of the fulfilment benchmark (a task that does nothing
but count itself in Redis)."""

from __future__ import annotations

import redis
from celery import shared_task


@shared_task
def noop(counter_url: str, counter_key: str) -> None:

    redis.Redis.from_url(counter_url).incr(counter_key)
