"""The customer centre's reads, each scoped to the organisation the request acts for (ALL-1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Membership, Organisation
from core.paging import KeysetPage, keyset_page
from locker import vault

from .models import Licence, PeopleEvent

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


# --- licences (CC-1, CC-9) ------------------------------------------------------------------------------
LICENCE_PAGE_SIZE = 25
_LICENCE_ORDER = ["purchase_date", "id"]
_LICENCE_KINDS = [date, int]


@dataclass(frozen=True)
class LicenceRow:
    """A licence as the list and the exports show it: the installation number opened for this showing."""

    licence: Licence
    installation_number: str
    support_active: bool


def licence_list(*, organisation: Organisation, search: str = "") -> QuerySet[Licence]:
    """Every licence of the organisation (ALL-1), newest purchase first, narrowed by ``search``: the start
    of the product's name or SKU, or of the support number (any case). One query with the products."""
    licences = Licence.objects.for_org(organisation).select_related("product")
    text = (search or "").strip()
    if text:
        licences = licences.filter(
            Q(product__name__istartswith=text)
            | Q(product__sku__istartswith=text)
            | Q(support_number__startswith=text.upper())
        )
    return licences.order_by("-purchase_date", "-id")


def licence_page(
    *,
    organisation: Organisation,
    search: str = "",
    before: str | None = None,
    after: str | None = None,
    size: int = LICENCE_PAGE_SIZE,
) -> KeysetPage:
    """``size`` licences of the organisation, newest purchase first, from the (customer, purchase date, id)
    index (``core.paging``): one query wherever the page is, whatever the number of licences."""
    return keyset_page(
        licence_list(organisation=organisation, search=search),
        fields=_LICENCE_ORDER,
        kinds=_LICENCE_KINDS,
        before=before,
        after=after,
        size=size,
        position_of=lambda licence: [licence.purchase_date, licence.pk],
        first_page_when_empty=True,
    )


@sensitive_variables()  # the opened numbers: never in an error report's frame variables
def licence_rows(licences: Iterable[Licence], *, today: date | None = None) -> list[LicenceRow]:
    """The licences with their installation numbers opened through the vault (no query). Only for a
    person with the *licences* right, and only together with ``licences_shown`` recording the showing."""
    today = today or timezone.localdate()
    return [
        LicenceRow(
            licence=licence,
            installation_number=vault.open_from(licence, Licence.SEAL_KIND),
            support_active=licence.support_active(today),
        )
        for licence in licences
    ]


# --- delivery addresses (CC-5) --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryAddress:
    """Where a customer's post goes."""

    street: str
    postcode: str
    city: str
    country: str


def delivery_addresses(org_ids: Iterable[int]) -> dict[int, DeliveryAddress]:
    """The delivery address of each organisation of ``org_ids``, by id, in one query. Reads the
    organisation's current address fields; the one place to switch to separate delivery addresses (CC-4)."""
    rows = Organisation.objects.filter(pk__in=list(org_ids)).values_list(
        "pk", "street", "postcode", "city", "country"
    )
    return {
        pk: DeliveryAddress(street=street, postcode=postcode, city=city, country=country)
        for pk, street, postcode, city, country in rows
    }
