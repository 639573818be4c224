from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import ApiToken


class HasResellerToken(BasePermission):
    """Only a reseller organisation's API token opens the API."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiToken) and request.auth.organisation.is_reseller
