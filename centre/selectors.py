"""The customer centre's reads, each scoped to the organisation the request acts for (ALL-1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Membership, Organisation
from core.newest_first import newest_first_page
from core.paging import KeysetPage, keyset_page
from locker import vault

from .models import Address, AddressEvent, Document, Licence, NewsItem, PeopleEvent

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
    return newest_first_page(
        licence_list(organisation=organisation, search=search),
        on="purchase_date",
        kind=date,
        before=before,
        after=after,
        size=size,
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


# --- addresses (CC-4, SVC-4) ----------------------------------------------------------------------------
ADDRESS_HISTORY_SIZE = 20


def address_list(*, organisation: Organisation) -> list[Address]:
    """The organisation's current addresses: billing, delivery, then the sites by name. Each carries its
    last change (``last_changed_at``, ``last_changed_by``: the actor's e-mail). One query."""
    last = AddressEvent.objects.filter(address=OuterRef("pk")).order_by("-at", "-id")
    return list(
        Address.objects.for_org(organisation)
        .current()
        .annotate(
            last_changed_at=Subquery(last.values("at")[:1]),
            last_changed_by=Subquery(last.values("actor__email")[:1]),
            kind_order=Case(
                When(kind=Address.Kind.BILLING, then=Value(0)),
                When(kind=Address.Kind.DELIVERY, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by("kind_order", "label", "id")
    )


def address_history(*, organisation: Organisation, limit: int = ADDRESS_HISTORY_SIZE) -> list[AddressEvent]:
    """The organisation's latest address changes, newest first (ALL-3), with who made them. One query."""
    return list(
        AddressEvent.objects.filter(organisation=organisation)
        .select_related("actor", "address")
        .order_by("-at", "-id")[:limit]
    )


def site_get(*, organisation: Organisation, address_id: Any) -> Address:
    """A current site address of the organisation; ``Address.DoesNotExist`` for another organisation's as
    for a missing one (ALL-1)."""
    return Address.objects.for_org(organisation).current().filter(kind=Address.Kind.SITE).get(pk=address_id)


def address_of_kind(*, organisation: Organisation, kind: str) -> Address | None:
    return Address.objects.for_org(organisation).current().filter(kind=kind).first()


def delivery_addresses(org_ids: Iterable[int]) -> dict[int, Address]:
    """Where to send each organisation's post (CC-5 media by post): its delivery address, else its billing
    address; organisations with neither are left out. One query, whatever the number of organisations."""
    found: dict[int, Address] = {}
    rows = Address.objects.current().filter(
        organisation_id__in=list(org_ids), kind__in=[Address.Kind.DELIVERY, Address.Kind.BILLING]
    )
    for address in rows:
        if address.organisation_id not in found or address.kind == Address.Kind.DELIVERY:
            found[address.organisation_id] = address
    return found


# --- news (CC-6) ------------------------------------------------------------------------------------------
NEWS_PAGE_SIZE = 20


def news_page(
    *,
    organisation: Organisation,
    before: str | None = None,
    after: str | None = None,
    size: int = NEWS_PAGE_SIZE,
) -> KeysetPage:
    """The news a customer may read (published, general or about a product it holds), newest first,
    ``size`` a page: one query with the products, wherever the page is."""
    rows = NewsItem.objects.for_org(organisation).select_related("product")
    return newest_first_page(rows, on="published_at", before=before, after=after, size=size)


def news_get(*, organisation: Organisation, news_id: Any) -> Any:
    """One news item the customer may read; ``NewsItem.DoesNotExist`` for a draft, a future item, another
    product's item and a missing one alike (ALL-1)."""
    return NewsItem.objects.for_org(organisation).select_related("product").get(pk=news_id)


# --- documents (CC-6) -------------------------------------------------------------------------------------
DOCUMENT_PAGE_SIZE = 25


def document_page(
    *,
    organisation: Organisation,
    before: str | None = None,
    after: str | None = None,
    size: int = DOCUMENT_PAGE_SIZE,
) -> KeysetPage:
    """The documents a customer may download (published, general or about a product it holds), newest
    first, ``size`` a page: one query with the products, wherever the page is."""
    rows = Document.objects.for_org(organisation).select_related("product")
    return newest_first_page(rows, on="created_at", before=before, after=after, size=size)
