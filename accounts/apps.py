from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organisations")

    def ready(self) -> None:
        # Every sign-in is listed among the person's sessions (accounts.session_activity).
        from django.contrib.auth.signals import user_logged_in

        from .session_activity import on_user_logged_in

        user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts.session_activity")
