"""Tenancy in one place (ALL-1): which organisation a request acts for, and the views' guard."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from .models import Membership, Organisation


def organisation_of(user: Any) -> Organisation | None:
    if not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "membership", None)
    return membership.organisation if membership is not None else None


def reseller_of(user: Any) -> Organisation | None:
    """The reseller organisation this signed-in user acts for, or None."""
    organisation = organisation_of(user)
    return organisation if organisation is not None and organisation.is_reseller else None


def uses_locker(user: Any) -> bool:
    """Whether this signed-in user is an end customer, who may open a Digital Locker: an account with no
    membership, or a member of a customer organisation (ESD-7). Never staff (ESD-8), nor a member of a
    reseller or the distributor. No query: the user comes with membership and organisation."""
    if not getattr(user, "is_authenticated", False) or user.is_staff or user.is_superuser:
        return False
    organisation = organisation_of(user)
    return organisation is None or organisation.kind == Organisation.Kind.CUSTOMER


class ResellerRequiredMixin(LoginRequiredMixin):
    """Resolves ``self.organisation`` once; only members of a reseller organisation get through.

    Views scope every queryset with ``Model.objects.for_org(self.organisation)``, so another
    organisation's object and a missing one both answer 404.
    """

    organisation: Organisation

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        org = reseller_of(request.user)
        if org is None:
            raise PermissionDenied
        self.organisation = org
        return super().dispatch(request, *args, **kwargs)


class ResellerAdminRequiredMixin(ResellerRequiredMixin):
    """Organisation settings (API tokens, webhooks) are for the reseller's administrators only."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership = getattr(request.user, "membership", None) if request.user.is_authenticated else None
        if membership is not None and membership.role != Membership.Role.ADMIN:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
