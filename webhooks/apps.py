from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from orders.signals import order_events_recorded

        from .receivers import on_order_events_recorded

        order_events_recorded.connect(
            on_order_events_recorded, dispatch_uid="webhooks.on_order_events_recorded"
        )
