"""Receivers that keep what ``accounts.tenancy`` caches true: every saved or deleted membership, and every
saved organisation (its name orders the switcher, its kind decides reseller or customer), makes the
people concerned read their memberships again at their next request (``accounts.membership_cache``)."""

from __future__ import annotations

from typing import Any

from . import membership_cache
from .models import Membership, Organisation

_LEAVES = "_portal_membership_leaves"  # the person a membership is being saved away from (see below)


def membership_moving(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """Before a membership is saved to another person, note the one it leaves: after the write (never
    before, see ``membership_cache.forget``) they read theirs again too."""
    if instance.pk is not None and not kwargs.get("raw"):
        before = Membership.objects.filter(pk=instance.pk).values_list("user_id", flat=True).first()
        if before is not None and before != instance.user_id:
            setattr(instance, _LEAVES, before)


def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    people = [instance.user_id]
    left = instance.__dict__.pop(_LEAVES, None)
    if left is not None:
        people.append(left)
    membership_cache.forget(people)


def organisation_changed(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    if instance.pk is not None:
        membership_cache.forget(
            Membership.objects.filter(organisation_id=instance.pk).values_list("user_id", flat=True)
        )
