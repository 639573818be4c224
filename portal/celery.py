"""The Celery app: ``celery -A portal worker`` starts a worker, ``celery -A portal beat`` the clock."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Before and after each task, what Django does around each web request: drop database connections
    that are broken or older than CONN_MAX_AGE, keep the others (settings.CELERY_DB_REUSE_MAX). Never for
    a task run eagerly, inside its caller's transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
