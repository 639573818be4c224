"""Receivers that keep what ``accounts.tenancy`` caches true: every saved or deleted membership, and every
saved organisation (its name orders the switcher, its kind decides reseller or customer), makes the
people concerned read their memberships again at their next request (``accounts.membership_cache``)."""

from __future__ import annotations

from typing import Any

from . import membership_cache
from .models import Membership, Organisation


def membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    membership_cache.forget([instance.user_id])


def organisation_changed(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    if instance.pk is not None:
        membership_cache.forget(
            Membership.objects.filter(organisation_id=instance.pk).values_list("user_id", flat=True)
        )
