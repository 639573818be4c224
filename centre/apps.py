from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentreConfig(AppConfig):
    """The customer centre (CC-*): customers' people and rights today; registration, licences, downloads,
    documents, news and addresses land here next (issue #14)."""

    name = "centre"
    verbose_name = _("Customer centre")
    default_auto_field = "django.db.models.BigAutoField"
