"""Imported by a fault test's worker (``--include tests.faults.stall``), never by the portal.

Once the worker's consumer has received ``FAULTS_STALL_AFTER`` task messages, it stops asking Redis for
more while staying connected: the state kombu's Redis transport is sometimes left in after a Redis restart
(portal.consumer_watchdog), made to happen when the test wants it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from celery.signals import task_received

STOPPED = "tests.faults.stall: the consumer stopped taking tasks"
_received = [0]


@task_received.connect(dispatch_uid="tests.faults.stall")
def _stall(sender: Any = None, **kwargs: Any) -> None:
    """``sender`` is the worker's consumer; cancelling its task consumer keeps the connection open."""
    _received[0] += 1
    if _received[0] == int(os.environ["FAULTS_STALL_AFTER"]):
        sender.task_consumer.cancel()
        print(STOPPED, file=sys.stderr, flush=True)
