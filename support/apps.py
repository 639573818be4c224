from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    """The support desk (SUP-*, SVC-6): entitled requests, their conversation and attachments, and the
    first-answer clock that keeps to working days."""

    name = "support"
    verbose_name = _("Support desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from locker import vault

        from .models import RequestCredential

        # Credentials customers give with a request (SUP-10) are sealed secrets: a master-key rotation
        # re-wraps them too (LOCK-3).
        vault.register_model(RequestCredential, field="secret", label=_("support request credentials"))
