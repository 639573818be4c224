from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .tenancy import tenancy_of, uses_locker


def portal(request: HttpRequest) -> dict[str, Any]:
    """The navigation's view of the request: the organisation it acts for, the others the person may
    switch to (CC-11), reseller or customer or neither, administrator or not. From ``accounts.tenancy``: no
    query of its own beyond the one that reads the memberships for the whole request."""
    tenancy = tenancy_of(request)
    is_reseller = tenancy.reseller is not None
    return {
        "current_organisation": tenancy.organisation,
        "switchable_organisations": tenancy.organisations if len(tenancy.memberships) > 1 else [],
        "uses_locker": uses_locker(request),
        "is_reseller": is_reseller,
        "is_reseller_admin": is_reseller and tenancy.is_admin,
        # Acting for a customer organisation: the customer centre (CC-*) is theirs; the locker stays too.
        "is_customer": tenancy.customer is not None,
    }
