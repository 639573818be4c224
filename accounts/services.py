from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .addresses import address_domain, canonical_address, canonical_domain, domain_and_parents
from .models import MailDomain, Organisation, User, normalise_email


def locker_account_for_email(*, email: str) -> User:
    """The locker account of an address, made on first use with no usable password (ESD-15)."""
    return locker_accounts_for_emails([email])[normalise_email(email)]


def locker_accounts_for_emails(emails: Iterable[str]) -> dict[str, User]:
    """The locker account of each address (keyed by the normalised address), made where missing.

    All ESD orders for one address, from any reseller, land in this one account. New accounts have no
    usable password. Safe under concurrency: the missing ones are inserted with ON CONFLICT DO NOTHING in
    address order (two batches never wait on each other in a cycle), then read back, so two fulfilments
    for the same new address end with one account. Three queries at most, however many addresses.
    """
    wanted = sorted({normalise_email(email) for email in emails})
    found = {user.email: user for user in User.objects.filter(email__in=wanted)}
    missing = [email for email in wanted if email not in found]
    if missing:
        fresh = []
        for email in missing:
            user = User(email=email, email_canonical=canonical_address(email))  # bulk: no save()
            user.set_unusable_password()
            fresh.append(user)
        User.objects.bulk_create(fresh, ignore_conflicts=True)
        found.update((user.email, user) for user in User.objects.filter(email__in=missing))
    return found


def address_taken(email: str, *, exclude: User | None = None) -> bool:
    """Whether an account (other than ``exclude``) has this address, spelt so or delivering to the same
    mailbox (``accounts.addresses``): one mailbox, one account."""
    rows = User.objects.filter(Q(email=email) | Q(email_canonical=canonical_address(email)))
    if exclude is not None and exclude.pk is not None:
        rows = rows.exclude(pk=exclude.pk)
    return rows.exists()


# --- whose address is it (ESD-7) --------------------------------------------------------------------
def _staff_or_partner() -> Q:
    """Accounts that never receive keys (ESD-7): staff, and members of a reseller or of the distributor.
    Members of customer organisations are end customers like any other, unless they also belong to a
    reseller or the distributor (CC-11)."""
    return Q(is_staff=True) | Q(
        memberships__organisation__kind__in=[Organisation.Kind.RESELLER, Organisation.Kind.DISTRIBUTOR]
    )


def address_is_portal_staff_or_partner(email: str) -> bool:
    """Whether an address, however spelt (``accounts.addresses``), reaches a member of a reseller or of the
    distributor, or a staff account (``_staff_or_partner``): an order may not be placed for it."""
    return User.objects.filter(email_canonical=canonical_address(email)).filter(_staff_or_partner()).exists()


def addresses_barred_from_keys(emails: Iterable[str]) -> set[str]:
    """Of these addresses (normalised), those whose account is staff's or a partner's (``_staff_or_partner``):
    the account fulfilment would put keys into, checked again at delivery. An order was refused such an
    address when it was placed; an account can reach one since (its address changed, a membership added)."""
    wanted = {normalise_email(email) for email in emails}
    rows = User.objects.filter(email__in=wanted).filter(_staff_or_partner())
    return set(rows.values_list("email", flat=True).distinct())


def declared_domain_of(organisation: Organisation, email: str) -> str | None:
    """The mail domain ``organisation`` declared as its own that covers this address, if any."""
    candidates = domain_and_parents(address_domain(email))
    if not candidates:
        return None
    return (
        MailDomain.objects.for_org(organisation)
        .filter(domain__in=candidates)
        .values_list("domain", flat=True)
        .first()
    )


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def mail_domain_normalise(domain: str) -> str:
    """A typed domain (or an address at it) in its canonical form; ``ValidationError`` if it is none."""
    raw = (domain or "").strip()
    if "@" in raw:
        raw = raw.rpartition("@")[2]
    name = canonical_domain(raw)
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(_("Enter a mail domain such as shop.example.com."), code="invalid_domain")
    return name


def mail_domain_declare(*, organisation: Organisation, actor: Any, domain: str) -> MailDomain:
    """Declare a mail domain as the reseller's own: its addresses are refused as end customers (ESD-7).

    Raises ``ValidationError`` (code ``invalid_domain`` or ``duplicate_domain``) for the form's field.
    """
    name = mail_domain_normalise(domain)
    try:
        with transaction.atomic():  # two administrators declaring it at once: one wins, the other is told
            return MailDomain.objects.create(organisation=organisation, domain=name, created_by=actor)
    except IntegrityError:
        raise ValidationError(_("This domain is already declared."), code="duplicate_domain") from None


def mail_domain_remove(*, organisation: Organisation, domain_id: int) -> None:
    """Remove a declared domain; another organisation's answers DoesNotExist (ALL-1)."""
    MailDomain.objects.for_org(organisation).get(pk=domain_id).delete()
