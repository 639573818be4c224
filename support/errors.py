"""The support desk's refusals (core.errors): one family, one code per reason."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError


class SupportError(DomainError):
    STATUS: ClassVar[dict[str, int]] = {
        "not_found": 404,
        "not_allowed": 403,
        "bound_elsewhere": 409,
        "closed": 409,
    }
