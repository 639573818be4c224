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

        # The memberships each request acts on are cached (accounts.tenancy): changes make them stale.
        from django.db.models.signals import post_delete, post_save, pre_save

        from .models import Membership, Organisation
        from .receivers import membership_changed, membership_moving, organisation_changed

        pre_save.connect(membership_moving, sender=Membership, dispatch_uid="accounts.membership_moving")

        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(membership_changed, sender=Membership, dispatch_uid=f"accounts.membership_{name}")
            signal.connect(
                organisation_changed, sender=Organisation, dispatch_uid=f"accounts.organisation_{name}"
            )
