from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("ESD orders")

    def ready(self) -> None:
        from locker.signals import key_first_revealed, stock_added

        from .receivers import on_key_first_revealed, on_stock_added

        stock_added.connect(on_stock_added, dispatch_uid="orders.on_stock_added")
        key_first_revealed.connect(on_key_first_revealed, dispatch_uid="orders.on_key_first_revealed")
