from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.client_ip import client_ip

from .models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Per token, in the shared cache (Redis in production): 429 with Retry-After past API_THROTTLE_RATE."""

    scope = "token"

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return f"throttle_token_{request.auth.pk}"
        return self.cache_format % {"scope": "anon", "ident": self.get_ident(request)}

    def get_ident(self, request: Any) -> str:
        """The client's address as every other limit sees it (BEHIND_TLS_PROXY, accounts.client_ip)."""
        return client_ip(request) or ""
