from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import Membership
from .tenancy import uses_locker


def portal(request: HttpRequest) -> dict[str, Any]:
    """The navigation's view of the user: organisation, reseller or not, administrator or not.

    Reads ``request.user.membership``, which the authentication backend loaded with the user
    (accounts.backends): no query of its own.
    """
    user = getattr(request, "user", None)
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    org = membership.organisation if membership is not None else None
    is_reseller = org is not None and org.is_reseller
    return {
        "current_organisation": org,
        "uses_locker": uses_locker(user),
        "is_reseller": is_reseller,
        "is_reseller_admin": is_reseller and getattr(membership, "role", None) == Membership.Role.ADMIN,
    }
