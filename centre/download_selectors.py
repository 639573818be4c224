"""The customer centre's reads for downloads (CC-2, CC-5, SUP-11), each scoped to one organisation (ALL-1).

Entitlement, per product: an organisation may download a product's releases when it holds at least one
licence of that product (direct or registered, CC-10) whose download access was not withdrawn (SUP-11). A
product whose every licence was withdrawn stays on the page with the reason and whom to contact, without
links; a product the organisation holds no licence for does not exist for it (404).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery

from accounts.models import Membership, Organisation
from catalog.models import Product, Release, ReleaseFile
from core.newest_first import newest_first_page
from core.paging import KeysetPage

from .models import Address, DeliveryPreference, Licence
from .selectors import delivery_addresses

RELEASE_PAGE_SIZE = 20
ENTITLING_SOURCES = (Licence.Source.DIRECT, Licence.Source.REGISTERED)


@dataclass(frozen=True)
class ProductAccess:
    """What an organisation may do with one product's releases: ``allowed`` (a licence not withdrawn), or
    the reason the last withdrawal gave (``withdrawn_reason``) when every licence was withdrawn."""

    product_id: int
    allowed: bool
    withdrawn_reason: str = ""


@dataclass
class Access:
    """The organisation's access to products (keyed by product id): every product it holds a licence for."""

    products: dict[int, ProductAccess] = field(default_factory=dict)

    def allowed(self, product_id: int) -> bool:
        access = self.products.get(product_id)
        return bool(access and access.allowed)


def download_access(*, organisation: Organisation, product_ids: Iterable[int] | None = None) -> Access:
    """The organisation's access to each product it licenses (SUP-11, CC-2), with the reason of the last
    withdrawal for a product whose every licence was withdrawn: one query."""
    licences = Licence.objects.for_org(organisation).filter(source__in=ENTITLING_SOURCES)
    if product_ids is not None:
        licences = licences.filter(product_id__in=list(product_ids))
    last_reason = (
        Licence.objects.filter(
            customer=organisation, product_id=OuterRef("product_id"), downloads_withdrawn_at__isnull=False
        )
        .order_by("-downloads_withdrawn_at", "-id")
        .values("downloads_withdrawn_reason")[:1]
    )
    rows = licences.values("product_id").annotate(
        open=Count("id", filter=Q(downloads_withdrawn_at__isnull=True)),
        reason=Subquery(last_reason),
    )
    access = Access()
    for row in rows.order_by():
        pid = row["product_id"]
        access.products[pid] = ProductAccess(
            product_id=pid,
            allowed=bool(row["open"]),
            withdrawn_reason="" if row["open"] else (row["reason"] or ""),
        )
    return access


def _published_releases(product_ids: Any) -> Any:
    """``product_ids``: a list, or a query of ids (a subquery: one round trip)."""
    return (
        Release.objects.published()
        .filter(product_id__in=product_ids)
        .select_related("product")
        .prefetch_related(Prefetch("files", queryset=ReleaseFile.objects.order_by("name", "id")))
        .order_by("-release_date", "-id")
    )


def release_page(
    *,
    access: Access,
    product_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
    size: int = RELEASE_PAGE_SIZE,
) -> KeysetPage:
    """The published releases of the products in ``access`` (or of one of them), newest first, with their
    files: two queries wherever the page is (``core.paging``)."""
    ids = list(access.products)
    if product_id is not None:
        ids = [product_id] if product_id in access.products else []
    return newest_first_page(
        _published_releases(ids), on="release_date", kind=date, before=before, after=after, size=size
    )


def licensed_products(access: Access) -> list[Product]:
    """The products the organisation licenses, by name (the page's product filter)."""
    return list(Product.objects.filter(pk__in=list(access.products)).order_by("name", "pk"))


def release_get(*, organisation: Organisation, release_id: Any) -> tuple[Release, ProductAccess]:
    """One published release of a product the organisation licenses, with its access;
    ``Release.DoesNotExist`` for another organisation's, an unpublished or a missing one (ALL-1)."""
    release = _published_releases(_licensed_product_ids(organisation)).get(pk=release_id)
    access = download_access(organisation=organisation, product_ids=[release.product_id])
    return release, access.products[release.product_id]


def release_file_get(*, organisation: Organisation, file_id: Any) -> tuple[ReleaseFile, ProductAccess]:
    """One file of a published release of a product the organisation licenses, with that product's
    access; ``ReleaseFile.DoesNotExist`` for another organisation's, an unpublished or a missing one."""
    release_file = (
        ReleaseFile.objects.select_related("release__product")
        .filter(release__published=True, release__product_id__in=_licensed_product_ids(organisation))
        .get(pk=file_id)
    )
    access = download_access(organisation=organisation, product_ids=[release_file.release.product_id])
    return release_file, access.products[release_file.release.product_id]


def _licensed_product_ids(organisation: Organisation) -> Any:
    return (
        Licence.objects.for_org(organisation)
        .filter(source__in=ENTITLING_SOURCES)
        .values_list("product_id", flat=True)
    )


def delivery_method(*, organisation: Organisation) -> str:
    """The organisation's delivery preference (CC-5): download unless it chose media."""
    row = DeliveryPreference.objects.for_org(organisation).values_list("method", flat=True).first()
    return row or DeliveryPreference.Method.DOWNLOAD


# --- the media list of a publication (CC-5), for staff ----------------------------------------------------
@dataclass(frozen=True)
class MediaRecipient:
    release: Release
    customer: Organisation
    address: Address | None
    admin_emails: list[str]


def media_recipients(release_ids: Iterable[int]) -> Iterator[MediaRecipient]:
    """For each published release of ``release_ids``, each customer that wants media by post (CC-5) and
    may download that product (a licence not withdrawn, SUP-11), by customer id: four queries in all."""
    releases = list(
        Release.objects.published()
        .filter(pk__in=list(release_ids))
        .select_related("product")
        .order_by("product__sku", "-release_date", "pk")
    )
    if not releases:
        return
    product_ids = {release.product_id for release in releases}
    pairs = set(
        Licence.objects.filter(
            product_id__in=product_ids,
            source__in=ENTITLING_SOURCES,
            downloads_withdrawn_at__isnull=True,
            customer__delivery_preference__method=DeliveryPreference.Method.MEDIA,
        )
        .values_list("customer_id", "product_id")
        .distinct()
    )
    customer_ids = {customer_id for customer_id, _ in pairs}
    customers = list(Organisation.objects.filter(pk__in=customer_ids).order_by("customer_id", "pk"))
    addresses = delivery_addresses(customer_ids)
    admins: dict[int, list[str]] = {}
    for org_id, email in (
        Membership.objects.filter(
            organisation_id__in=customer_ids, role=Membership.Role.ADMIN, active=True, user__is_active=True
        )
        .order_by("organisation_id", "user__email")
        .values_list("organisation_id", "user__email")
    ):
        admins.setdefault(org_id, []).append(email)
    for release in releases:
        for customer in customers:
            if (customer.pk, release.product_id) in pairs:
                yield MediaRecipient(
                    release=release,
                    customer=customer,
                    address=addresses.get(customer.pk),
                    admin_emails=admins.get(customer.pk, []),
                )
