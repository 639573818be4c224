from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
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
