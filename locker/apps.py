from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = _("Digital Locker")

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from . import vault
        from .mfa import JSON_KEYS, SEAL_KIND
        from .models import KeyImport, ProductKey

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
