"""Enqueue after commit, and never let a broker outage break the request that asked for it (ALL-5).

Services name the task they want (``"orders.tasks.fulfil_order"``) instead of importing it: tasks import
services, never the other way round, so no cycle hides behind an import inside a function.
"""

from __future__ import annotations

import contextlib
import logging
from importlib import import_module
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import transaction

from core.kept import shared

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


def _pending_key(key: str) -> str:
    return f"tasking:pending:{key}"


def enqueue_coalesced_on_commit(task: str, *, key: str, timeout: int) -> None:
    """Send the task named ``task`` (no arguments) once the current transaction commits, unless one sent
    under the same ``key`` is still waiting in the queue: a wake-up, for a task that takes whatever work is
    waiting when it starts (the orders placed: ``orders.tasks.fulfil_placed``). A burst of a thousand
    commits then sends a handful of tasks, not a thousand that find their work done by another.

    The task calls ``coalesced_started(key)`` before it reads its work, so work committed after that read
    sends the next wake-up. The mark lasts ``timeout`` seconds at most: a wake-up lost with its broker
    delays new work that long, and the periodic sweeper still finds what waits. Without a cache every
    process shares (or when it cannot be reached) every commit sends its task.
    """
    found = _task(task)
    transaction.on_commit(lambda: _send_coalesced(found, key, timeout))


def enqueue_coalesced(task: str, *, key: str, timeout: int) -> None:
    """``enqueue_coalesced_on_commit``, sent now: for a task that reads no row of the open transaction (a
    wake-up for more of the same work, sent while this transaction does its share). Where tasks run in the
    caller's process (``task_always_eager``: no broker) it is sent at commit all the same: run now, it
    would run inside this transaction and see its locks as its own."""
    found = _task(task)
    if found.app.conf.task_always_eager:
        transaction.on_commit(lambda: _send_coalesced(found, key, timeout))
        return
    _send_coalesced(found, key, timeout)


def _send_coalesced(found: Any, key: str, timeout: int) -> None:
    pending = _pending_key(key)
    marked = False
    if shared():
        try:
            if not cache.add(pending, 1, timeout):
                return  # a wake-up is waiting; it will see this work
            marked = True
        except Exception:  # the cache's many failure types: send the task all the same
            logger.warning("Could not mark %s pending; sending it anyway", found.name, exc_info=True)
    try:
        found.delay()
    except Exception:  # the broker's many failure types; the sweeper recovers
        logger.exception("Could not enqueue %s; the sweeper will retry its work", found.name)
        if marked:
            with contextlib.suppress(Exception):
                cache.delete(pending)


def coalesced_started(key: str) -> None:
    """Called by a task sent by ``enqueue_coalesced_on_commit`` before it reads its work: from now on a
    commit sends the next wake-up."""
    try:
        cache.delete(_pending_key(key))
    except Exception:  # the mark then lapses by itself
        logger.warning("Could not clear the pending mark %s", key, exc_info=True)
