"""A customer's licences (CC-1, CC-9, SUP-2, ALL-3, LOCK-1).

Staff book direct sales (``licence_book``) and correct them (``licence_update``). The installation number
is sealed by ``locker.vault`` onto the licence's own columns in the transaction that writes the row, and
found again only by its keyed fingerprint: a number already on a licence is refused without decrypting
anything. The support number comes from the ERP when it issued one, otherwise the portal issues the next
``S-<year>-<nnnnnn>`` of the year under the lock of that year's ``SupportNumberSequence`` row: unique and
gapless however many bookings run at once. Support lasts the product's support months from the purchase
date (SUP-2). Every write records a ``LicenceEvent`` with the acting user; no event, message or log holds
the number.

Showing numbers is recorded too: ``licences_shown`` writes one ``LicenceRevealEvent`` per page or export,
with its licences in one statement, before the numbers leave the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from catalog.models import Product
from core.dates import add_months
from core.sequences import take_numbers
from locker import vault

from ..errors import CentreError
from ..models import Licence, LicenceEvent, LicenceRevealEvent, RevealedLicence, SupportNumberSequence

NUMBER_MAX_LENGTH = 200


def normalise_installation_number(text: str) -> str:
    """The number as compared: upper case, without spaces or dashes (``ab12-cd 34`` = ``AB12CD34``)."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def installation_fingerprint(text: str) -> str:
    """The vault's keyed hash of a normalised installation number, in a namespace of its own (a product
    key and an installation number with the same characters do not share a fingerprint)."""
    return vault.fingerprint("installation-number:" + normalise_installation_number(text))


def support_ends_on(*, product: Product, purchase_date: date) -> date:
    """SUP-2: the product's support months (3 or 6) from the purchase date; support is active before it."""
    return add_months(purchase_date, int(product.support_months or 0))


def installation_number_clean(installation_number: str) -> str:
    """The number as typed, trimmed; ``CentreError`` by field when it has no letter or digit, or is too
    long."""
    number = (installation_number or "").strip()
    if not normalise_installation_number(number):
        raise CentreError("number_missing", _("Enter the installation number."), field="installation_number")
    if len(number) > NUMBER_MAX_LENGTH:
        raise CentreError(
            "number_too_long",
            _("An installation number has at most %(n)d characters.") % {"n": NUMBER_MAX_LENGTH},
            field="installation_number",
        )
    return number


def _number_taken() -> CentreError:
    return CentreError(
        "number_taken",
        _("This installation number is already on a licence."),
        field="installation_number",
    )


def _support_number_taken() -> CentreError:
    return CentreError(
        "support_number_taken", _("This support number is already in use."), field="support_number"
    )


def installation_number_in_use(installation_number: str, *, exclude_id: int | None = None) -> bool:
    """Whether a licence already carries this number (found by its fingerprint, nothing decrypted)."""
    rows = Licence.objects.filter(number_fingerprint=installation_fingerprint(installation_number))
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return rows.exists()


def support_number_in_use(support_number: str, *, exclude_id: int | None = None) -> bool:
    rows = Licence.objects.filter(support_number=support_number.strip())
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return rows.exists()


def support_number_issue(*, today: date | None = None) -> str:
    """The next support number of the year. Must run inside the booking's transaction: the year's row
    stays locked until it ends, so numbers are issued one after another and a rollback gives its number
    back (no gaps)."""
    assert transaction.get_connection().in_atomic_block, "support_number_issue needs the booking transaction"
    year = (today or timezone.localdate()).year
    return f"S-{year}-{take_numbers(SupportNumberSequence, year=year):06d}"


def licence_book(
    *,
    customer: Organisation,
    product: Product,
    installation_number: str,
    purchase_date: date,
    edition: str = "",
    support_number: str | None = None,
    source: str = Licence.Source.DIRECT,
    actor: Any,
) -> Licence:
    """Book a licence of ``customer`` (CC-1): the number sealed (LOCK-1), the support number issued when
    none is given, the support term from the product (SUP-2), a ``booked`` event (ALL-3). Refuses a
    customer that is not one, a number or support number already in use (``CentreError`` by field)."""
    if not customer.is_customer:
        raise CentreError("not_a_customer", _("Choose a customer organisation."), field="customer")
    number = installation_number_clean(installation_number)
    fingerprint = installation_fingerprint(number)
    given = (support_number or "").strip()
    if source not in Licence.Source.values:
        raise CentreError("unknown_source", _("Choose a source from the list."), field="source")
    try:
        with transaction.atomic():
            if Licence.objects.filter(number_fingerprint=fingerprint).exists():
                raise _number_taken()
            if given and Licence.objects.filter(support_number=given).exists():
                raise _support_number_taken()
            # The write itself is the bulk path's, for one licence (one copy of sealing and recording).
            (licence,) = licences_book_many(
                rows=[
                    LicenceIn(
                        customer_id=customer.pk,
                        product=product,
                        installation_number=number,
                        fingerprint=fingerprint,
                        purchase_date=purchase_date,
                        support_number=given,
                        edition=edition.strip(),
                    )
                ],
                actor=actor,
                source=source,
            )
            licence.customer = customer
    except IntegrityError as error:
        # Two bookings of the same number (or support number) at once: the constraint decides.
        if "licence_number_unique" in str(error):
            raise _number_taken() from None
        if "support_number" in str(error):
            raise _support_number_taken() from None
        raise
    return licence


def licence_update(
    *,
    licence_id: int,
    product: Product,
    purchase_date: date,
    edition: str = "",
    installation_number: str = "",
    actor: Any,
) -> Licence:
    """Correct a booked licence: product, edition, purchase date (the support term follows, SUP-2) and,
    when ``installation_number`` is given, a replacement number sealed in place of the old one. A
    ``changed`` or ``number_replaced`` event names what changed, never the number (ALL-3)."""
    replacement = (
        installation_number_clean(installation_number) if (installation_number or "").strip() else ""
    )
    try:
        with transaction.atomic():
            licence = Licence.objects.select_for_update().get(pk=licence_id)
            before = {
                "product": licence.product_id,
                "edition": licence.edition,
                "purchase_date": licence.purchase_date.isoformat(),
            }
            licence.product = product
            licence.edition = edition.strip()
            licence.purchase_date = purchase_date
            licence.support_ends_on = support_ends_on(product=product, purchase_date=purchase_date)
            fields = ["product", "edition", "purchase_date", "support_ends_on"]
            if replacement:
                fingerprint = installation_fingerprint(replacement)
                taken = Licence.objects.filter(number_fingerprint=fingerprint).exclude(pk=licence.pk)
                if taken.exists():
                    raise _number_taken()
                licence.number_fingerprint = fingerprint
                vault.seal_into(licence, Licence.SEAL_KIND, replacement)
                fields += ["number_fingerprint", *vault.columns(Licence.SEAL_KIND)]
            licence.save(update_fields=fields)
            after = {
                "product": licence.product_id,
                "edition": licence.edition,
                "purchase_date": licence.purchase_date.isoformat(),
            }
            changed = sorted(name for name in before if before[name] != after[name])
            if changed:
                LicenceEvent.objects.create(
                    licence=licence,
                    kind=LicenceEvent.Kind.CHANGED,
                    actor_id=getattr(actor, "pk", None),
                    data={"before": before, "after": after, "changed": changed},
                )
            if replacement:
                LicenceEvent.objects.create(
                    licence=licence,
                    kind=LicenceEvent.Kind.NUMBER_REPLACED,
                    actor_id=getattr(actor, "pk", None),
                )
    except IntegrityError as error:
        if "licence_number_unique" in str(error):
            raise _number_taken() from None
        raise
    return licence


def licences_shown(
    *,
    organisation: Organisation,
    user: Any,
    licence_ids: Sequence[int],
    how: str,
    ip: str | None,
    user_agent: str = "",
) -> LicenceRevealEvent | None:
    """Record that ``user`` was shown the installation numbers of ``licence_ids`` (a page of the list or
    an export, ``how``): one event and its licences in one statement each, in one transaction. Nothing is
    recorded when no number was shown."""
    if not licence_ids:
        return None
    with transaction.atomic():
        event = LicenceRevealEvent.objects.create(
            organisation=organisation,
            actor_id=user.pk,
            kind=how,
            ip=ip or None,
            user_agent=(user_agent or "")[:400],
            data={"count": len(licence_ids)},
        )
        RevealedLicence.objects.bulk_create(
            [RevealedLicence(event=event, licence_id=pk) for pk in licence_ids], batch_size=1000
        )
    return event


# --- the bulk path (import_licences, CC-9) -----------------------------------------------------------
LOOKUP_BATCH = 1000  # fingerprints or support numbers looked up, and rows written, per statement


@dataclass(frozen=True)
class LicenceIn:
    """One licence to book in bulk, already checked by the caller (``centre.services.imports``): the
    number cleaned and fingerprinted, the support number empty when the portal is to issue one."""

    customer_id: int
    product: Product
    installation_number: str
    fingerprint: str
    purchase_date: date
    support_number: str = ""
    edition: str | None = None  # None: the product's edition


def support_numbers_issue(count: int, *, today: date | None = None) -> list[str]:
    """``count`` consecutive support numbers of the year, taken from the sequence in one call. Must run
    inside the booking's transaction, like ``support_number_issue``."""
    if count <= 0:
        return []
    year = (today or timezone.localdate()).year
    first = take_numbers(SupportNumberSequence, year=year, count=count)
    return [f"S-{year}-{n:06d}" for n in range(first, first + count)]


def licences_book_many(
    *, rows: Sequence[LicenceIn], actor: Any, source: str = Licence.Source.DIRECT
) -> list[Licence]:
    """``licence_book`` for many licences at once, at a cost that does not grow with each line: the
    missing support numbers issued in one call, the rows inserted in batches, each number sealed onto its
    own row (LOCK-2: the seal binds the id, known once inserted) and the seals written in batches, one
    ``booked`` event each (ALL-3). Must run inside the caller's transaction; the caller has refused numbers
    and support numbers already in use (the unique constraints stay the last word)."""
    assert transaction.get_connection().in_atomic_block, "licences_book_many needs the import transaction"
    issued = iter(support_numbers_issue(sum(1 for row in rows if not row.support_number)))
    licences = [
        Licence(
            customer_id=row.customer_id,
            product=row.product,
            edition=row.product.edition if row.edition is None else row.edition,
            number_ciphertext=b"",
            number_wrapped_key=b"",
            number_master_key_id="",
            number_fingerprint=row.fingerprint,
            purchase_date=row.purchase_date,
            source=source,
            support_number=row.support_number or next(issued),
            support_ends_on=support_ends_on(product=row.product, purchase_date=row.purchase_date),
        )
        for row in rows
    ]
    Licence.objects.bulk_create(licences, batch_size=LOOKUP_BATCH)
    for licence, row in zip(licences, rows, strict=True):
        vault.seal_into(licence, Licence.SEAL_KIND, row.installation_number)
    Licence.objects.bulk_update(licences, list(vault.columns(Licence.SEAL_KIND)), batch_size=LOOKUP_BATCH)
    actor_id = getattr(actor, "pk", None)
    LicenceEvent.objects.bulk_create(
        [
            LicenceEvent(
                licence=licence,
                kind=LicenceEvent.Kind.BOOKED,
                actor_id=actor_id,
                data={
                    "customer": licence.customer_id,
                    "product": licence.product_id,
                    "purchase_date": licence.purchase_date.isoformat(),
                    "support_number": licence.support_number,
                    "source": source,
                },
            )
            for licence in licences
        ],
        batch_size=LOOKUP_BATCH,
    )
    return licences
