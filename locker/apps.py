from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = _("Digital Locker")

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from django.db.models.signals import post_delete, post_save

        from accounts.models import Organisation
        from catalog.models import Product

        from . import vault
        from .kept_cards import forget_all
        from .mfa import JSON_KEYS, SEAL_KIND
        from .models import KeyImport, ProductKey

        # A card shows its product's name and installer and its seller's name (``kept_cards``).
        for model in (Product, Organisation):
            for signal in (post_save, post_delete):
                signal.connect(forget_all, sender=model, dispatch_uid=f"locker.kept_cards.{model.__name__}")

        # The locker's own secrets (LOCK-1); other apps register theirs from their own ready().
        vault.register_model(ProductKey, label=_("product keys"))
        vault.register_model(
            KeyImport,
            columns=("payload", "payload_key", "payload_master_key_id"),
            label=_("key files waiting for import"),
        )
        vault.register_json(
            vault.SealedJsonField(
                kind=SEAL_KIND,
                model="mfa.Authenticator",
                field="data",
                keys=JSON_KEYS,
                label=_("second-factor secrets"),
            )
        )
