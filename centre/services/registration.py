"""Registration of a customer's first administrator (CC-7, CC-8, ALL-3).

Anyone may ask: customer id, tax id, name, e-mail and password. Only when the pair matches a customer
(the tax id with or without separators and its country prefix, ``accounts.models.tax_id_matches``) that
has no active administrator is a ``Registration`` stored and a confirmation link mailed, after commit.
Every other case stores and sends nothing, and the caller answers all of them alike: the answer tells a
guesser neither which half was wrong nor whether, or who, the administrator is. The password is hashed
before anything is looked up, so the cases also take the same time.

Confirming (``registration_confirm``) locks the registration and then the customer's row, re-checks that
the customer still has no active administrator, and makes the person one: the first to confirm wins, and
of two confirming at the same moment the second waits for the lock and then finds an administrator. An
existing account for the address (a locker account, say) joins the customer with its own password
unchanged; a new account gets the password hashed at registration.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User, normalise_email, tax_id_matches
from core.links import link_token, link_values
from core.tasking import enqueue_on_commit

from ..errors import CentreError
from ..models import PeopleEvent, Registration
from .people import ADMIN, ALL_RIGHTS, _record, _set_rights, _state, account_get_or_create

LINK_SALT = "centre.registration.confirm"


def registration_link_token(registration: Registration) -> str:
    """The signed token of the confirmation link. It names the registration (and its address), so it
    dies when the registration is confirmed, replaced or deleted; its age is checked on use too."""
    return link_token([registration.pk, registration.email], salt=LINK_SALT)


def _unavailable() -> CentreError:
    return CentreError("registration_unavailable", _("This registration can no longer be confirmed."))


def registration_from_token(token: str) -> Registration:
    """The pending, unlapsed registration a link names; ``CentreError("registration_unavailable")`` for a
    forged, lapsed, used or replaced link alike."""
    max_age = timedelta(days=settings.CENTRE_REGISTRATION_DAYS)
    values = link_values(token, salt=LINK_SALT, size=2, max_age=max_age)
    if values is None:
        raise _unavailable()
    pk, email = values
    found = (
        Registration.objects.confirmable().select_related("organisation").filter(pk=pk, email=email).first()
    )
    if found is None:
        raise _unavailable()
    return found


def _has_active_admin(organisation: Organisation) -> bool:
    return Membership.objects.for_org(organisation).filter(role=ADMIN, active=True).exists()


def registration_submit(
    *, customer_id: str, tax_id: str, full_name: str, email: str, password: str
) -> Registration | None:
    """Ask to become the first administrator of the customer with this id and tax id (CC-7). Returns the
    stored registration, or None when nothing was stored (no such pair, or the customer has an active
    administrator); callers must answer both alike. A pending registration of the same address for the
    same customer is replaced (its link dies), so each address holds one live link per customer."""
    password_hash = make_password(password)  # first, whatever happens next: the same cost for every case
    email = normalise_email(email)
    customer_id = (customer_id or "").strip()
    if not customer_id or not email:
        return None
    organisation = Organisation.objects.filter(
        kind=Organisation.Kind.CUSTOMER, customer_id=customer_id
    ).first()
    if organisation is None or not tax_id_matches(organisation, tax_id):
        return None
    if _has_active_admin(organisation):
        return None
    with transaction.atomic():
        Registration.objects.pending().filter(organisation=organisation, email=email).delete()
        try:
            with transaction.atomic():
                registration = Registration.objects.create(
                    organisation=organisation,
                    email=email,
                    full_name=(full_name or "").strip()[:200],
                    password_hash=password_hash,
                )
        except IntegrityError:  # the same address registered at the same moment: that one stands
            return None
        enqueue_on_commit("centre.tasks.send_registration_mail", registration.pk)
    return registration


def registration_confirm(*, registration_id: int) -> Membership:
    """Make the registration's person the customer's administrator with every right (CC-7, CC-8), once:
    the registration is marked confirmed (its hashed password forgotten) and a ``PeopleEvent`` records
    it with the new administrator as the actor (ALL-3). Refused alike (``registration_unavailable``) when
    the registration is gone, used or lapsed, when the customer has an active administrator by now, and
    when the address's account is disabled."""
    with transaction.atomic():
        registration = (
            Registration.objects.confirmable().select_for_update().filter(pk=registration_id).first()
        )
        if registration is None:
            raise _unavailable()
        organisation = Organisation.objects.select_for_update().get(pk=registration.organisation_id)
        if _has_active_admin(organisation):
            raise _unavailable()
        user, new_account = account_get_or_create(
            registration.email,
            lambda: User.objects.create(
                email=registration.email,
                full_name=registration.full_name,
                password=registration.password_hash,
                password_set_at=timezone.now(),
            ),
        )
        if not user.is_active:
            raise _unavailable()
        membership = Membership.objects.for_org(organisation).filter(user=user).first()
        before = _state(membership) if membership is not None else None
        if membership is None:
            membership = Membership(user=user, organisation=organisation)
        membership.role, membership.active = ADMIN, True
        _set_rights(membership, ALL_RIGHTS)
        membership.save()
        registration.status = Registration.Status.CONFIRMED
        registration.confirmed_at = timezone.now()
        registration.password_hash = ""
        registration.save(update_fields=["status", "confirmed_at", "password_hash"])
        _record(
            PeopleEvent.Kind.REGISTERED,
            organisation=organisation,
            actor=user,
            person_id=user.pk,
            before=before,
            after=_state(membership),
            new_account=new_account,
            registration=registration.pk,
        )
    return membership


def registrations_sweep() -> int:
    """Delete the registrations that lapsed unconfirmed (CC-8); the pair can then be registered again.
    Running it twice deletes nothing twice. The number deleted."""
    deleted, _by_model = Registration.objects.lapsed().delete()
    return deleted
