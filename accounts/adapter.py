from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import login_limits
from .client_ip import client_ip
from .signals import password_chosen


class PortalAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: the distributor makes reseller users, fulfilment makes locker accounts (ESD-15)."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "login_busy": _("This account is signing in elsewhere right now. Try again in a moment."),
        "too_many_sign_ins": _("Too many sign-in attempts from your address. Try again in a few minutes."),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    # --- client address and failed sign-ins (accounts.client_ip, accounts.login_limits) -------------------
    def get_client_ip(self, request: HttpRequest) -> str:
        """The address every limit uses, through exactly BEHIND_TLS_PROXY trusted proxies."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("no client address")
        return ip

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        return login_limits.account_key(credentials.get("email", credentials.get("username", "")))

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        key = self._get_login_attempts_cache_key(request, **credentials)
        if not login_limits.count_client(request, login_limits.ATTEMPT_ACTION):
            raise self.validation_error("too_many_sign_ins")
        if login_limits.account_past_limit(request, key):  # before queueing for a turn
            raise self.validation_error("too_many_login_attempts")
        client_failure = login_limits.reserve_client_failure(request)
        if not client_failure:
            raise self.validation_error("too_many_login_attempts")
        user = None
        try:
            with login_limits.one_attempt_at_a_time(key) as our_turn:
                if not our_turn:
                    raise self.validation_error("login_busy")
                user = super().authenticate(request, **credentials)
        finally:
            if user is not None or not getattr(self, "_password_checked", False):
                client_failure.rollback()  # a right password, or no password looked at: no failure
            self._password_checked = False
        return user

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Past the account's limit every attempt is refused, before the password is looked at. Nothing is
        reserved on the account, so allauth has nothing to give back after a right password."""
        self._login_failed_rl_usage = None
        if login_limits.account_past_limit(
            request, self._get_login_attempts_cache_key(request, **credentials)
        ):
            raise self.validation_error("too_many_login_attempts")
        self._password_checked = True

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login_limits.record_account_failure(
            request, self._get_login_attempts_cache_key(request, **credentials)
        )

    def set_password(self, user: Any, password: str) -> None:
        user.set_password(password)
        user.password_set_at = timezone.now()
        user.save(update_fields=["password", "password_set_at"])
        password_chosen.send(sender=type(user), user=user, at=user.password_set_at)

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
