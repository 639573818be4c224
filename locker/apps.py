from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = _("Digital Locker")
