"""Enqueue after commit, and never let a broker outage break the request that asked for it (ALL-5)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Send ``task`` once the current transaction commits.

    If the broker cannot be reached the error is logged and swallowed: the database already holds the
    truth, and the periodic sweeper re-enqueues work that has not advanced.
    """

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # the broker's many failure types; the sweeper recovers
            logger.exception("Could not enqueue %s%r; the sweeper will retry it", task.name, args)

    transaction.on_commit(send)
