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
