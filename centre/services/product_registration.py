"""Issued numbers and product registration (CC-10, SUP-2, SUP-3, ALL-3).

The distributor issues an installation number with a product sold through a partner (``IssuedNumber``,
imported by ``import_licences``); the end customer registers it with the number and its customer id, and
it becomes a ``Licence`` of source *registered*, with support from the recorded sale date.

A registration that cannot be made gets one answer, whatever the reason (a wrong customer id, a number
never issued, a number registered to or issued for another customer), so the form tells a guesser
nothing; when the number belongs to someone else, staff see it as a ``RegistrationConflict``. The same
customer registering its number again is told it is already in its list. Two registrations of one number
at once take turns on the issued number's row: exactly one licence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Organisation
from catalog.models import Product
from locker import vault

from ..errors import CentreError
from ..models import IssuedNumber, Licence, LicenceEvent, RegistrationConflict
from .licences import (
    LOOKUP_BATCH,
    installation_fingerprint,
    normalise_installation_number,
    support_ends_on,
    support_number_issue,
)


@dataclass(frozen=True)
class IssuedIn:
    """One issued number to store, already checked by the caller (``centre.services.imports``)."""

    product: Product
    installation_number: str
    fingerprint: str
    sale_date: date
    customer_id: int | None = None
    support_number: str = ""


def issued_numbers_issue_many(*, rows: Sequence[IssuedIn], actor: Any) -> list[IssuedNumber]:
    """Store issued numbers in bulk: inserted in batches, each sealed onto its own row (LOCK-2), the seals
    written in batches. Must run inside the caller's transaction."""
    assert transaction.get_connection().in_atomic_block, "issued_numbers_issue_many needs a transaction"
    actor_id = getattr(actor, "pk", None)
    issued = [
        IssuedNumber(
            product=row.product,
            number_ciphertext=b"",
            number_wrapped_key=b"",
            number_master_key_id="",
            number_fingerprint=row.fingerprint,
            sale_date=row.sale_date,
            customer_id=row.customer_id,
            support_number=row.support_number,
            created_by_id=actor_id,
        )
        for row in rows
    ]
    IssuedNumber.objects.bulk_create(issued, batch_size=LOOKUP_BATCH)
    for item, row in zip(issued, rows, strict=True):
        vault.seal_into(item, IssuedNumber.SEAL_KIND, row.installation_number)
    IssuedNumber.objects.bulk_update(
        issued, list(vault.columns(IssuedNumber.SEAL_KIND)), batch_size=LOOKUP_BATCH
    )
    return issued


@dataclass(frozen=True)
class Registered:
    """The licence a registration gave, and whether it was there already (registered before)."""

    licence: Licence
    already: bool


def not_registrable() -> CentreError:
    """The one answer to every registration that cannot be made (CC-10): it names neither half."""
    return CentreError(
        "not_registrable",
        _(
            "This installation number cannot be registered with this customer id. Check both against "
            "the documents that came with the product; if they are right, contact the seller."
        ),
    )


def product_register(
    *, organisation: Organisation, customer_id: str, installation_number: str, actor: Any
) -> Registered:
    """Register an issued number to ``organisation`` (CC-10): the customer id typed must be its own, the
    number one the distributor issued and, if the issue names a customer, issued for this one. The licence
    takes the sale date as its purchase date (support from it, SUP-2), the support number the import
    brought or the next one of the year, and a ``registered`` event with the actor (ALL-3).

    Refused with ``not_registrable`` in every other case; a number that belongs to another customer is
    recorded as a ``RegistrationConflict`` for staff. Registering again a number this customer already holds
    answers ``already=True`` with its licence."""
    number = (installation_number or "").strip()
    if not normalise_installation_number(number) or len(number) > 200:
        raise not_registrable()
    if not organisation.is_customer or not organisation.customer_id:
        raise not_registrable()
    if (customer_id or "").strip().upper() != organisation.customer_id.strip().upper():
        raise not_registrable()
    fingerprint = installation_fingerprint(number)
    conflict: RegistrationConflict | None = None
    try:
        with transaction.atomic():
            issued = IssuedNumber.objects.select_for_update().filter(number_fingerprint=fingerprint).first()
            held = Licence.objects.filter(number_fingerprint=fingerprint).first()
            if held is not None:
                if held.customer_id == organisation.pk:
                    return Registered(licence=held, already=True)
                conflict = RegistrationConflict(
                    organisation=organisation,
                    actor_id=getattr(actor, "pk", None),
                    issued_number=issued,
                    licence_id=held.pk,
                    kind=(
                        RegistrationConflict.Kind.REGISTERED_ELSEWHERE
                        if issued is not None
                        else RegistrationConflict.Kind.BOOKED_ELSEWHERE
                    ),
                )
            elif issued is None:
                pass  # never issued: nothing to record
            elif issued.customer_id is not None and issued.customer_id != organisation.pk:
                conflict = RegistrationConflict(
                    organisation=organisation,
                    actor_id=getattr(actor, "pk", None),
                    issued_number=issued,
                    kind=RegistrationConflict.Kind.NAMES_ANOTHER,
                )
            else:
                licence = _licence_from(issued, organisation=organisation, actor=actor)
                return Registered(licence=licence, already=False)
            if conflict is not None:
                conflict.save()
    except IntegrityError:
        # A direct booking of the same number committed between our read and our insert: the constraint
        # decides, and the answer is the one every refusal gets.
        raise not_registrable() from None
    raise not_registrable()


def _licence_from(issued: IssuedNumber, *, organisation: Organisation, actor: Any) -> Licence:
    """The licence an issued number becomes (inside the registration's transaction, its row locked)."""
    product = issued.product
    plaintext = vault.open_from(issued, IssuedNumber.SEAL_KIND)
    support_number = issued.support_number
    if not support_number or Licence.objects.filter(support_number=support_number).exists():
        support_number = support_number_issue()
    licence = Licence.objects.create(
        customer=organisation,
        product=product,
        edition=product.edition,
        number_fingerprint=issued.number_fingerprint,
        purchase_date=issued.sale_date,
        source=Licence.Source.REGISTERED,
        support_number=support_number,
        support_ends_on=support_ends_on(product=product, purchase_date=issued.sale_date),
    )
    vault.seal_into(licence, Licence.SEAL_KIND, plaintext)
    del plaintext
    licence.save(update_fields=list(vault.columns(Licence.SEAL_KIND)))
    issued.licence = licence
    issued.save(update_fields=["licence"])
    LicenceEvent.objects.create(
        licence=licence,
        kind=LicenceEvent.Kind.REGISTERED,
        actor_id=getattr(actor, "pk", None),
        data={
            "customer": organisation.pk,
            "product": product.pk,
            "purchase_date": issued.sale_date.isoformat(),
            "support_number": licence.support_number,
            "issued_number": issued.pk,
        },
    )
    return licence
