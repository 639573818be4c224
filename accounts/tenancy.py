"""Tenancy in one place (ALL-1, CC-11): which organisation a request acts for, and the views' guards.

A person may belong to several organisations. A page request acts for one of them: the one chosen with
the header's switcher (kept in the session), else the first by name. ``tenancy_of(request)`` reads the
user's memberships once per request (one query, organisations included) and every view, the navigation
and the guards below take the organisation from there. Only active memberships count: a person
deactivated in an organisation (CC-6) keeps their history there but acts for it no more, exactly as if
they had left it. API requests act for their token's organisation
(``api.base``), never for the session's.

The memberships are kept in the cache between requests (``accounts.membership_cache``); every change of a
membership or an organisation makes them stale, so it acts at the person's next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from . import membership_cache
from .models import Membership, Organisation

# The organisation chosen in the header, by id; a stale choice (the membership ended) is ignored.
SESSION_KEY = "accounts.organisation"
_CACHE_ATTR = "_portal_tenancy"


@dataclass(frozen=True)
class Tenancy:
    """The signed-in user's memberships (organisations loaded, by name) and the one this request acts for."""

    memberships: tuple[Membership, ...] = ()
    active: Membership | None = None
    is_staff: bool = False

    @property
    def organisation(self) -> Organisation | None:
        return self.active.organisation if self.active is not None else None

    @property
    def reseller(self) -> Organisation | None:
        """The reseller organisation the request acts for, or None."""
        organisation = self.organisation
        return organisation if organisation is not None and organisation.is_reseller else None

    @property
    def is_admin(self) -> bool:
        """Whether the person administers the organisation the request acts for."""
        return self.active is not None and self.active.role == Membership.Role.ADMIN

    @property
    def customer(self) -> Organisation | None:
        """The customer organisation (customer centre, CC-*) the request acts for, or None."""
        organisation = self.organisation
        return organisation if organisation is not None and organisation.is_customer else None

    def has_right(self, name: str) -> bool:
        """Whether the membership the request acts for gives right ``name`` (a ``Membership.Right`` value):
        administrators have every right (CC-6). False with no active membership."""
        return self.active is not None and self.active.has_right(name)

    @property
    def organisations(self) -> list[Organisation]:
        return [membership.organisation for membership in self.memberships]

    @property
    def uses_locker(self) -> bool:
        """Whether this person is an end customer, who may open a Digital Locker: an account with no
        membership, or one whose every membership is in a customer organisation (ESD-7). Never staff
        (ESD-8), nor a member of a reseller or of the distributor, whatever else they belong to."""
        if self.is_staff:
            return False
        return all(m.organisation.kind == Organisation.Kind.CUSTOMER for m in self.memberships)

    def membership_in(self, organisation_id: int) -> Membership | None:
        return next((m for m in self.memberships if m.organisation_id == organisation_id), None)


_ANONYMOUS = Tenancy(is_staff=False)


def _read_memberships(user: Any) -> tuple[Membership, ...]:
    return tuple(
        Membership.objects.filter(user_id=user.pk, active=True)
        .select_related("organisation")
        .order_by("organisation__name", "organisation_id")
    )


def memberships_of(user: Any) -> tuple[Membership, ...]:
    """Every active membership of a user, with its organisation, in the order the switcher lists them.
    Deactivated ones are left out: they act for nobody (CC-6). Kept in the cache until one of them or
    their organisations changes (``accounts.membership_cache``)."""
    return membership_cache.kept(user, _read_memberships)


def tenancy_for(user: Any, chosen: Any = None) -> Tenancy:
    """The tenancy of ``user`` acting for organisation id ``chosen`` if they belong to it, else the first."""
    if not getattr(user, "is_authenticated", False):
        return _ANONYMOUS
    memberships = memberships_of(user)
    active = None
    if chosen is not None:
        try:
            active = next((m for m in memberships if m.organisation_id == int(chosen)), None)
        except (TypeError, ValueError):
            active = None
    if active is None and memberships:
        active = memberships[0]
    return Tenancy(memberships, active, is_staff=bool(user.is_staff or user.is_superuser))


def tenancy_of(request: HttpRequest) -> Tenancy:
    """The request's tenancy, resolved on first use and kept on the request (one query per request)."""
    tenancy = getattr(request, _CACHE_ATTR, None)
    if tenancy is None:
        session = getattr(request, "session", None)
        chosen = session.get(SESSION_KEY) if session is not None else None
        tenancy = tenancy_for(getattr(request, "user", None), chosen)
        setattr(request, _CACHE_ATTR, tenancy)
    return tenancy


def organisation_choose(request: HttpRequest, organisation_id: Any) -> Organisation | None:
    """Make the request's session act for one of the user's organisations; None (nothing changes) if the
    user is not a member of it, so an id of someone else's organisation opens nothing (ALL-1)."""
    try:
        wanted = int(organisation_id)
    except (TypeError, ValueError):
        return None
    tenancy = tenancy_of(request)
    membership = tenancy.membership_in(wanted)
    if membership is None:
        return None
    request.session[SESSION_KEY] = membership.organisation_id
    setattr(request, _CACHE_ATTR, Tenancy(tenancy.memberships, membership, is_staff=tenancy.is_staff))
    return membership.organisation


def reseller_of(request: HttpRequest) -> Organisation | None:
    """The reseller organisation this request acts for, or None."""
    return tenancy_of(request).reseller


def uses_locker(request: HttpRequest) -> bool:
    """Whether the signed-in person may open a Digital Locker (``Tenancy.uses_locker``)."""
    user = getattr(request, "user", None)
    return bool(getattr(user, "is_authenticated", False)) and tenancy_of(request).uses_locker


class ResellerRequiredMixin(LoginRequiredMixin):
    """Resolves ``self.organisation`` once; only a request acting for a reseller organisation gets through.

    Views scope every queryset with ``Model.objects.for_org(self.organisation)``, so another
    organisation's object and a missing one both answer 404.
    """

    organisation: Organisation

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        org = reseller_of(request)
        if org is None:
            raise PermissionDenied
        self.organisation = org
        return super().dispatch(request, *args, **kwargs)


class ResellerAdminRequiredMixin(ResellerRequiredMixin):
    """Organisation settings (API tokens, webhooks) are for the reseller's administrators only."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        tenancy = tenancy_of(request)
        if request.user.is_authenticated and tenancy.reseller is not None and not tenancy.is_admin:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
