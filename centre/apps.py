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

        from .models import ImportJob, IssuedNumber, Licence

        # Installation numbers are licence secrets (LOCK-1); issued numbers waiting for registration (CC-10)
        # are installation numbers too, and an uploaded import file holds them until its run ends. All are
        # sealed by the vault, so a master-key rotation re-wraps them too (LOCK-3).
        vault.register_model(Licence, field="number", label=_("installation numbers"))
        vault.register_model(IssuedNumber, field="number", label=_("issued installation numbers"))
        vault.register_model(ImportJob, field="payload", label=_("centre import files"))

        from accounts.signals import postal_address_kept_elsewhere

        from .receivers import on_postal_address_asked

        postal_address_kept_elsewhere.connect(
            on_postal_address_asked, dispatch_uid="centre.on_postal_address_asked"
        )
