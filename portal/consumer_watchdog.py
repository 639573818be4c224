"""A worker that stays connected to Redis but has stopped taking tasks reconnects by itself (ALL-5).

After Redis restarts, Celery 5 with kombu's Redis transport sometimes reconnects and then never asks for a
message again: connected, idle, the queue growing, until someone restarts the process (celery/celery#8030,
#9054, #10205 and #10302 report it from 5.2 to 5.6; tests/faults met it with 5.7 about once in a dozen
restarts). Nothing in the worker notices, because nothing failed.

This consumer bootstep looks every ``CELERY_STALL_CHECK_SECONDS``: a worker with no task running or
reserved, which has received nothing for two checks in a row while its queues hold messages, is stalled.
It then raises a connection error inside the worker's event loop, which is what a lost connection does:
Celery drops the connection and makes a new one, with a new channel and new consumers, as after any
outage. A busy worker, or one whose queues are empty, is never touched; neither is a broker other than
Redis. Tested in tests/faults/test_broker_faults.py with a consumer stopped on purpose.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import bootsteps
from celery.signals import task_received
from celery.worker import state
from django.conf import settings

logger = logging.getLogger(__name__)

# Monotonic time of the last task message this process received (the consumer runs in the main process).
_last_received = [0.0]


@task_received.connect(dispatch_uid="portal.consumer_watchdog.received")
def _note_received(sender: Any = None, **kwargs: Any) -> None:
    _last_received[0] = time.monotonic()


class StallWatchdog(bootsteps.StartStopStep):
    """Reconnect a consumer that is idle, connected and not receiving while its queues hold messages."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.interval = float(settings.CELERY_STALL_CHECK_SECONDS)
        self.tref: Any = None
        self.client: redis.Redis | None = None
        self.suspect = False
        super().__init__(c, **kwargs)

    def include_if(self, c: Any) -> bool:
        return self.interval > 0 and c.app.conf.broker_url.startswith(("redis://", "rediss://"))

    def start(self, c: Any) -> None:
        _last_received[0] = time.monotonic()  # a new connection starts with a clean slate
        self.suspect = False
        if self.client is None:
            timeout = min(self.interval, 2.0)
            self.client = redis.Redis.from_url(
                c.app.conf.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.tref = c.timer.call_repeatedly(self.interval, self.check, (c,))

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, c: Any) -> None:
        self.stop(c)
        if self.client is not None:
            self.client.close()
            self.client = None

    def waiting(self, c: Any) -> int:
        """Messages in the queues this consumer takes from (0 when Redis cannot tell us now)."""
        consumer = c.task_consumer
        if consumer is None or self.client is None:
            return 0
        try:
            return sum(int(self.client.llen(queue.name)) for queue in consumer.queues)
        except redis.RedisError:
            return 0  # Redis itself is away: that is the transport's business, not a stall

    def check(self, c: Any) -> None:
        busy = bool(state.active_requests or state.reserved_requests)
        quiet = time.monotonic() - _last_received[0] >= self.interval
        if c.connection is None or busy or not quiet or not self.waiting(c):
            self.suspect = False
            return
        if not self.suspect:  # once may be a message on its way; twice in a row is a stall
            self.suspect = True
            return
        self.suspect = False
        logger.warning(
            "consumer: no task received for %.0f s, connected, while its queues hold messages; reconnecting",
            time.monotonic() - _last_received[0],
        )
        raise redis.exceptions.ConnectionError("consumer stalled: reconnecting")
