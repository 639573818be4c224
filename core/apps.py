from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app builds on (events, errors, paging, tasks, dates, exports). It imports no app."""

    name = "core"
    verbose_name = "Core"
