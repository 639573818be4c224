"""A person changes their own e-mail address (issue #14; ESD-13, ESD-14, ESD-15 hold throughout).

The address is the login and, for an end customer, the Digital Locker's owner (ESD-15), so it changes only
when the link mailed to the **new** address is used: whoever asks must be signed in (and type their
password), whoever confirms must read the new mailbox. Until then nothing changes.

- **Asking** (``email_change_request``): an address another account has (however spelt:
  ``accounts.addresses``), or one an app refuses for this account (``accounts.signals.email_change_check``:
  the orders refuse, for an end customer, an address ESD-7 keeps from the resellers that ordered for them),
  stores and sends nothing; the caller answers every case alike, so the form tells nobody whether an
  address has an account. A newer request replaces the pending one (its link dies). Every request is
  recorded (``AccountEvent``), with whether it was refused, for staff.
- **Confirming** (``email_change_confirm``, a POST behind the link: mail scanners follow links) locks the
  account, checks everything again, and moves it: the new address, every set-password, reset and welcome
  link sent so far dies (``link_generation``; Django's token covers the address too), allauth's address
  rows go (they would let the old mailbox reset the account), and what the apps keep by address follows in
  the same transaction (``accounts.signals.email_changed``: the orders' address). Keys belong to the
  account, not to the address string, so they follow by themselves. Recorded as ESD-14 records a
  correction: who, when, from which address to which; the previous address is told, masked, without a
  link (``accounts.mail``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.links import link_token, link_values
from core.tasking import enqueue_on_commit

from .models import AccountEvent, EmailChange, User, normalise_email
from .services import address_taken
from .signals import email_change_check, email_changed

LINK_SALT = "accounts.email_change.confirm"


class AccountError(DomainError):
    """A refusal about one's own account."""


def _unavailable() -> AccountError:
    return AccountError("email_change_unavailable", _("This link can no longer be used."))


def email_change_token(change: EmailChange) -> str:
    """The signed token of the confirmation link. It names the request, its new address and the account's
    link generation, so it dies when the request is replaced or used, and with the account's other links."""
    return link_token([change.pk, change.to_email, change.user.link_generation], salt=LINK_SALT)


def _refusal(user: User, email: str) -> str | None:
    """Why the account may not move to ``email`` (a code for the record), or None."""
    if address_taken(email, exclude=user):
        return "taken"
    for _receiver, reason in email_change_check.send(sender=User, user=user, email=email):
        if reason:
            return str(reason)
    return None


@transaction.atomic
def email_change_request(*, user: User, new_email: str) -> EmailChange | None:
    """Ask to move ``user`` to ``new_email``; the request, or None when nothing was stored (the address is
    taken or refused). Callers answer both alike. The link goes out after commit, once."""
    email = normalise_email(new_email)
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request of an account at a time
    EmailChange.objects.filter(user=user, status=EmailChange.Status.PENDING).update(
        status=EmailChange.Status.SUPERSEDED
    )
    refusal = _refusal(user, email)
    data: dict[str, Any] = {"to": email}
    if refusal:
        data["refused"] = refusal
    AccountEvent.objects.create(
        user=user, actor=user, kind=AccountEvent.Kind.EMAIL_CHANGE_REQUESTED, data=data
    )
    if refusal:
        return None
    change = EmailChange.objects.create(user=user, from_email=user.email, to_email=email)
    enqueue_on_commit("accounts.tasks.send_email_change_link", change.pk)
    return change


def _confirmable(change: EmailChange, user: User, generation: int) -> bool:
    age = timezone.now() - change.requested_at
    return (
        change.status == EmailChange.Status.PENDING
        and age <= timedelta(hours=settings.EMAIL_CHANGE_HOURS)
        and user.is_active
        and user.email == change.from_email
        and user.link_generation == generation
    )


def email_change_from_token(token: str) -> tuple[EmailChange, int]:
    """The pending request a link names, and the link generation it carries; ``AccountError`` for a forged,
    expired, used, replaced or otherwise dead link alike."""
    values = link_values(token, salt=LINK_SALT, size=3, max_age=timedelta(hours=settings.EMAIL_CHANGE_HOURS))
    if values is None:
        raise _unavailable()
    pk, email, generation = values
    change = EmailChange.objects.select_related("user").filter(pk=pk, to_email=email).first()
    if change is None or not _confirmable(change, change.user, generation):
        raise _unavailable()
    return change, generation


@transaction.atomic
def email_change_confirm(*, change_id: int, generation: int) -> EmailChange:
    """Move the account to the new address (see the module's notes); ``AccountError`` when the request can
    no longer be confirmed, or the address was taken (or became refused) meanwhile."""
    change = EmailChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise _unavailable()
    user = User.objects.select_for_update().get(pk=change.user_id)
    if not _confirmable(change, user, generation) or _refusal(user, change.to_email):
        raise _unavailable()
    old_email, now = user.email, timezone.now()
    user.email = change.to_email
    user.link_generation += 1
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "link_generation"])
    except IntegrityError:  # another account took the address a moment ago
        raise _unavailable() from None
    EmailAddress.objects.filter(user=user).delete()
    followed: dict[str, int] = {}
    for _receiver, answer in email_changed.send(
        sender=User, user=user, old_email=old_email, new_email=change.to_email, at=now
    ):
        if isinstance(answer, dict):
            followed.update(answer)
    change.status, change.confirmed_at = EmailChange.Status.CONFIRMED, now
    change.save(update_fields=["status", "confirmed_at"])
    AccountEvent.objects.create(
        user=user,
        actor=user,
        at=now,
        kind=AccountEvent.Kind.EMAIL_CHANGED,
        data={"from": old_email, "to": change.to_email, "change": change.pk, **followed},
    )
    enqueue_on_commit("accounts.tasks.send_email_change_notice", change.pk)
    return change
