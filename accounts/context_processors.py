from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import Membership, Organisation
from .tenancy import organisation_of


def portal(request: HttpRequest) -> dict[str, Any]:
    org = organisation_of(getattr(request, "user", None))
    return {
        "current_organisation": org,
        "is_reseller": org is not None and org.kind == Organisation.Kind.RESELLER,
        "is_reseller_admin": org is not None
        and org.kind == Organisation.Kind.RESELLER
        and getattr(getattr(request.user, "membership", None), "role", None) == Membership.Role.ADMIN,
    }
