"""Enqueue after commit, and never let a broker outage break the request that asked for it (ALL-5).

Services name the task they want (``"orders.tasks.fulfil_order"``) instead of importing it: tasks import
services, never the other way round, so no cycle hides behind an import inside a function.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def _task(name: str) -> Any:
    """The registered task of that name; its module is imported the first time (a web process imports no
    task module by itself)."""
    if name not in current_app.tasks:
        import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def enqueue_on_commit(task: str, *args: Any) -> None:
    """Send the task named ``task`` once the current transaction commits.

    The name is looked up at once, so a name no task has fails here, loudly. If the broker cannot be
    reached the error is logged and swallowed: the database already holds the truth, and the periodic
    sweeper re-enqueues work that has not advanced.
    """
    found = _task(task)

    def send() -> None:
        try:
            found.delay(*args)
        except Exception:  # the broker's many failure types; the sweeper recovers
            logger.exception("Could not enqueue %s%r; the sweeper will retry it", task, args)

    transaction.on_commit(send)
