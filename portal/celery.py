"""The Celery app: ``celery -A portal worker`` starts a worker, ``celery -A portal beat`` the clock."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun
from django.db import close_old_connections
from kombu.message import Message

from core.db import on_task_failure
from portal.consumer_watchdog import StallWatchdog

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task that failed on a stale prepared statement leaves its connection closed (core.db).
task_failure.connect(on_task_failure, dispatch_uid="core.db.stale_plan")
# A worker left connected but no longer taking tasks after a Redis restart reconnects by itself.
app.steps["consumer"].add(StallWatchdog)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Before and after each task, what Django does around each web request: drop database connections
    that are broken or older than CONN_MAX_AGE, keep the others (settings.CELERY_DB_REUSE_MAX). Never for
    a task run eagerly, inside its caller's transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return

    close_old_connections()


def _tolerate_acks_on_a_lost_connection() -> None:
    """Work around a kombu bug: a task that finishes after the Redis connection was lost acks its message on
    the dead channel, which raises AttributeError (no connection info) instead of a connection error, and
    the worker stops with "Unrecoverable error". Longer tasks (a fulfilment batch) make this likely when
    Redis restarts. The ack is logged as failed instead, as kombu does for connection errors: the message
    is then delivered again after the visibility timeout, and every task here is idempotent (ALL-5).
    Reproduced by tests/faults (Redis restarted mid-run)."""

    original = Message.ack_log_error
    if getattr(original, "_portal_tolerant", False):
        return

    def ack_log_error(self: Any, logger: Any, errors: Any, multiple: bool = False) -> None:
        extra = tuple(errors) if isinstance(errors, tuple | list) else (errors,)
        original(self, logger, (*extra, AttributeError), multiple=multiple)

    ack_log_error._portal_tolerant = True  # type: ignore[attr-defined]
    Message.ack_log_error = ack_log_error  # type: ignore[method-assign]


_tolerate_acks_on_a_lost_connection()
