from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.http import HttpRequest
from django.utils import timezone


class PortalAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: the distributor makes reseller users, fulfilment makes locker accounts (ESD-15)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def set_password(self, user: Any, password: str) -> None:
        user.set_password(password)
        user.password_set_at = timezone.now()
        user.save(update_fields=["password", "password_set_at"])

    # --- no self-service address change (ESD-14, ESD-15) ------------------------------------------------
    # Fulfilment gives an order's keys to the account with the order's address, so an account that could
    # attach an address would draw another person's keys into its locker. allauth's e-mail pages answer
    # 404 (portal.urls) and its "add" form refuses every address (accounts.forms.NoAddEmailForm); where
    # allauth asks the adapter, it is refused here as well.
    def can_delete_email(self, email_address: EmailAddress) -> bool:
        return False

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """Confirming makes an address primary (allauth's verify_email): never through allauth."""
        return False

    def should_send_confirmation_mail(
        self, request: HttpRequest, email_address: EmailAddress, signup: bool
    ) -> bool:
        return False
