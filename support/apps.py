from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    """The support desk (SUP-*, SVC-6): entitled requests, their conversation and attachments, and the
    first-answer clock that keeps to working days."""

    name = "support"
    verbose_name = _("Support desk")
    default_auto_field = "django.db.models.BigAutoField"
