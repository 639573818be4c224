"""A customer's addresses (CC-4, SVC-4, ALL-1, ALL-3).

People acting for a customer with the *user management* right keep its billing address, its delivery
address and its site addresses (one per place a product stands, SVC-4); everyone else only reads them.
Each write locks the organisation's row first, so two people saving the billing address at the same
moment take turns (the second sees the first's result and records its own change against it) and the "one
billing, one delivery" constraint is never raced into an error. Every change records an ``AddressEvent``
with the actor and the fields before and after, in the same transaction; saving what is already stored
changes and records nothing.

The billing address is also written onto ``accounts.Organisation``'s street, postcode, city and country
(the English name), in the same transaction: those fields are what the distributor's invoices print
(``Organisation.postal_address``), and ``accounts`` sits below ``centre`` so it cannot read a centre
address. The organisation's ``country_code`` is left alone: it says which prefix its tax id may carry
(CC-7), not where its office is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, Organisation

from ..countries import COUNTRY_CODES, country_name_en, postcode_example, postcode_fits
from ..errors import CentreError
from ..models import Address, AddressEvent

USER_MANAGEMENT = Membership.Right.USER_MANAGEMENT.value


@dataclass(frozen=True)
class AddressIn:
    """What a person typed for an address (the label only for a site)."""

    company: str
    street: str
    postcode: str
    city: str
    country_code: str
    attention: str = ""
    phone: str = ""
    label: str = ""


def _may_edit(organisation: Organisation, actor: Any) -> None:
    membership = Membership.objects.for_org(organisation).filter(user_id=actor.pk, active=True).first()
    if not organisation.is_customer or membership is None or not membership.has_right(USER_MANAGEMENT):
        raise CentreError("not_allowed", _("You may not change this organisation's addresses."))


def _clean(data: AddressIn, kind: str) -> dict[str, str]:
    """The address as it will be stored, or the first problem with a field."""
    values = {name: " ".join(str(value or "").split()) for name, value in asdict(data).items()}
    values["country_code"] = values["country_code"].upper()
    values["postcode"] = values["postcode"].upper()
    if kind != Address.Kind.SITE:
        values["label"] = ""
    required = ["company", "street", "postcode", "city", "country_code"]
    if kind == Address.Kind.SITE:
        required.insert(0, "label")
    for name in required:
        if not values[name]:
            raise CentreError("required", _("This field is required."), field=name)
    if values["country_code"] not in COUNTRY_CODES:
        raise CentreError("unknown_country", _("Choose a country from the list."), field="country_code")
    if not postcode_fits(values["country_code"], values["postcode"]):
        example = postcode_example(values["country_code"])
        message = (
            _("This is not a postcode of the country chosen, e.g. %(example)s.") % {"example": example}
            if example
            else _("This is not a postcode of the country chosen.")
        )
        raise CentreError("bad_postcode", message, field="postcode")
    limits = {
        field.name: field.max_length for field in Address._meta.get_fields() if hasattr(field, "max_length")
    }
    for name, value in values.items():
        limit = limits.get(name)
        if limit and len(value) > limit:
            raise CentreError(
                "too_long",
                ngettext("At most %(n)d character.", "At most %(n)d characters.", limit) % {"n": limit},
                field=name,
            )
    return values


def _lock_organisation(organisation: Organisation) -> Organisation:
    return Organisation.objects.select_for_update().get(pk=organisation.pk)


def _record(kind: str, *, address: Address, actor: Any, before: Any, after: Any) -> AddressEvent:
    return AddressEvent.objects.create(
        kind=kind,
        organisation_id=address.organisation_id,
        address=address,
        actor_id=actor.pk,
        data={"address_kind": address.kind, "before": before, "after": after},
    )


def _write(
    organisation: Organisation, address: Address | None, kind: str, values: dict[str, str], actor: Any
) -> Address:
    now = timezone.now()
    if address is None:
        address = Address.objects.create(
            organisation=organisation, kind=kind, created_at=now, updated_at=now, **values
        )
        _record(AddressEvent.Kind.CREATED, address=address, actor=actor, before=None, after=address.state())
    else:
        before = address.state()
        if before == values:
            return address
        for name, value in values.items():
            setattr(address, name, value)
        address.updated_at = now
        address.save(update_fields=[*values, "updated_at"])
        _record(AddressEvent.Kind.CHANGED, address=address, actor=actor, before=before, after=address.state())
    if kind == Address.Kind.BILLING:
        organisation.street = values["street"]
        organisation.postcode = values["postcode"]
        organisation.city = values["city"]
        organisation.country = country_name_en(values["country_code"])
        organisation.save(update_fields=["street", "postcode", "city", "country"])
    return address


@transaction.atomic
def address_set(*, organisation: Organisation, actor: Any, kind: str, data: AddressIn) -> Address:
    """Create or change the organisation's billing or delivery address (CC-4), recorded (ALL-3)."""
    if kind not in (Address.Kind.BILLING, Address.Kind.DELIVERY):
        raise CentreError("not_found", _("There is no such address."))
    _may_edit(organisation, actor)
    values = _clean(data, kind)
    locked = _lock_organisation(organisation)
    current = Address.objects.for_org(locked).current().filter(kind=kind).first()
    return _write(locked, current, kind, values, actor)


@transaction.atomic
def site_add(*, organisation: Organisation, actor: Any, data: AddressIn) -> Address:
    """A new site address (SVC-4: one per place a product stands), recorded (ALL-3)."""
    _may_edit(organisation, actor)
    values = _clean(data, Address.Kind.SITE)
    locked = _lock_organisation(organisation)
    return _write(locked, None, Address.Kind.SITE, values, actor)


def _site(organisation: Organisation, address_id: Any) -> Address:
    try:
        return (
            Address.objects.for_org(organisation).current().filter(kind=Address.Kind.SITE).get(pk=address_id)
        )
    except (Address.DoesNotExist, ValueError, TypeError):
        raise CentreError("not_found", _("There is no such address.")) from None


@transaction.atomic
def site_update(*, organisation: Organisation, actor: Any, address_id: int, data: AddressIn) -> Address:
    """Change a site address of the organisation; another organisation's id is not found (ALL-1)."""
    _may_edit(organisation, actor)
    values = _clean(data, Address.Kind.SITE)
    locked = _lock_organisation(organisation)
    return _write(locked, _site(locked, address_id), Address.Kind.SITE, values, actor)


@transaction.atomic
def site_remove(*, organisation: Organisation, actor: Any, address_id: int) -> Address:
    """Remove a site address: marked removed (kept for its history), recorded (ALL-3)."""
    _may_edit(organisation, actor)
    locked = _lock_organisation(organisation)
    address = _site(locked, address_id)
    address.removed_at = timezone.now()
    address.save(update_fields=["removed_at"])
    _record(AddressEvent.Kind.REMOVED, address=address, actor=actor, before=address.state(), after=None)
    return address
