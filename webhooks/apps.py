from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from locker import vault
        from orders.signals import order_events_recorded

        from .models import WebhookEndpoint

        # Signing secrets are sealed by the vault, so a master-key rotation re-wraps them too (LOCK-3).
        vault.register_model(WebhookEndpoint, field="secret", label=_("webhook signing secrets"))

        from .receivers import on_order_events_recorded

        order_events_recorded.connect(
            on_order_events_recorded, dispatch_uid="webhooks.on_order_events_recorded"
        )
