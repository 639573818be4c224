from django.apps import AppConfig
from django.core.signals import got_request_exception

from core.db import on_request_exception


class CoreConfig(AppConfig):
    """What every app builds on (events, errors, paging, tasks, dates, exports). It imports no app."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # A request that failed on a stale prepared statement leaves its connection closed (core.db).
        got_request_exception.connect(on_request_exception, dispatch_uid="core.db.stale_plan")
