from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentreConfig(AppConfig):
    """The customer centre (CC-*): customers' people and rights, registration and licences; downloads,
    documents, news and addresses land here next (issue #14)."""

    name = "centre"
    verbose_name = _("Customer centre")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because models may be imported only once the app registry is ready (Django).
        from locker import vault

        from .models import Licence

        # Installation numbers are licence secrets (LOCK-1): sealed by the vault, so a master-key rotation
        # re-wraps them too (LOCK-3).
        vault.register(
            vault.SealedField(
                kind=Licence.SEAL_KIND,
                model="centre.Licence",
                ciphertext="number_ciphertext",
                wrapped_key="number_wrapped_key",
                master_key_id="number_master_key_id",
                label=_("installation numbers"),
            )
        )
        # Issued numbers waiting for registration (CC-10) are installation numbers too, and an uploaded
        # import file holds them until its run ends: both sealed, both re-wrapped by a rotation (LOCK-3).
        from .models import ImportJob, IssuedNumber

        vault.register(
            vault.SealedField(
                kind=IssuedNumber.SEAL_KIND,
                model="centre.IssuedNumber",
                ciphertext="number_ciphertext",
                wrapped_key="number_wrapped_key",
                master_key_id="number_master_key_id",
                label=_("issued installation numbers"),
            )
        )
        vault.register(
            vault.SealedField(
                kind=ImportJob.SEAL_KIND,
                model="centre.ImportJob",
                ciphertext="payload_ciphertext",
                wrapped_key="payload_wrapped_key",
                master_key_id="payload_master_key_id",
                label=_("centre import files"),
            )
        )
