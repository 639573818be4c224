from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("ESD orders")

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from django.contrib.auth.signals import user_logged_in

        from accounts.signals import password_chosen
        from locker.signals import key_first_revealed, stock_added

        from .receivers import on_key_first_revealed, on_password_chosen, on_stock_added, on_user_logged_in

        stock_added.connect(on_stock_added, dispatch_uid="orders.on_stock_added")
        key_first_revealed.connect(on_key_first_revealed, dispatch_uid="orders.on_key_first_revealed")
        user_logged_in.connect(on_user_logged_in, dispatch_uid="orders.on_user_logged_in")
        password_chosen.connect(on_password_chosen, dispatch_uid="orders.on_password_chosen")

        # A person's own change of address (accounts.email_change): ESD-7 checked, the orders follow.
        from accounts.signals import email_change_check, email_changed

        from .receivers import on_account_email_changed, on_account_email_check

        email_change_check.connect(on_account_email_check, dispatch_uid="orders.on_account_email_check")
        email_changed.connect(on_account_email_changed, dispatch_uid="orders.on_account_email_changed")
