from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LockerConfig(AppConfig):
    name = "locker"
    verbose_name = _("Digital Locker")

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from . import vault
        from .models import KeyImport, ProductKey

        # The locker's own secrets (LOCK-1); other apps register theirs from their own ready().
        vault.register(
            vault.SealedField(
                kind=ProductKey.SEAL_KIND,
                model="locker.ProductKey",
                ciphertext="ciphertext",
                wrapped_key="wrapped_key",
                master_key_id="master_key_id",
                label=_("product keys"),
            )
        )
        vault.register(
            vault.SealedField(
                kind=KeyImport.SEAL_KIND,
                model="locker.KeyImport",
                ciphertext="payload",
                wrapped_key="payload_key",
                master_key_id="payload_master_key_id",
                label=_("key files waiting for import"),
            )
        )
        from .mfa import JSON_KEYS, SEAL_KIND

        vault.register_json(
            vault.SealedJsonField(
                kind=SEAL_KIND,
                model="mfa.Authenticator",
                field="data",
                keys=JSON_KEYS,
                label=_("second-factor secrets"),
            )
        )
