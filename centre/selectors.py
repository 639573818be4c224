"""The customer centre's reads, each scoped to the organisation the request acts for (ALL-1)."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, Organisation
from core.paging import KeysetPage, keyset_page

from .models import PeopleEvent

PEOPLE_PAGE_SIZE = 25


def people_page(
    *,
    organisation: Organisation,
    before: str | None = None,
    after: str | None = None,
    size: int = PEOPLE_PAGE_SIZE,
) -> KeysetPage:
    """The organisation's people (active or not), newest first, ``size`` a page: one query, from the
    ``(organisation, id)`` index, whatever the number of people."""
    return keyset_page(
        Membership.objects.for_org(organisation).select_related("user"),
        fields=["id"],
        kinds=[int],
        before=before,
        after=after,
        size=size,
        position_of=lambda membership: [membership.pk],
        first_page_when_empty=True,
    )


def person_get(*, organisation: Organisation, membership_id: Any) -> Membership:
    """One person of the organisation; ``Membership.DoesNotExist`` for another organisation's as for a
    missing one (ALL-1)."""
    return Membership.objects.for_org(organisation).select_related("user").get(pk=membership_id)


def person_history(*, organisation: Organisation, person_id: int, limit: int = 20) -> list[PeopleEvent]:
    """What happened to a person in this organisation, newest first (ALL-3)."""
    return list(
        PeopleEvent.objects.filter(organisation=organisation, person_id=person_id)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
