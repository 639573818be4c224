"""The customer centre's refusals (core.errors): one family, one code per reason."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError


class CentreError(DomainError):
    STATUS: ClassVar[dict[str, int]] = {
        "not_found": 404,
        "not_allowed": 403,
        "not_an_administrator": 403,
        "last_administrator": 409,
        "already_member": 409,
    }
