"""Showing a key to its owner (ESD-8, LOCK-4): the only code that unseals a product key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import vault
from ..kept_cards import forget_owners
from ..models import ProductKey, RevealEvent
from ..signals import key_first_revealed


@dataclass(frozen=True)
class Revealed:
    key: ProductKey
    plaintext: str

    def __repr__(self) -> str:  # never let a traceback or log print the key
        return f"Revealed(key={self.key.pk}, plaintext=<hidden>)"


@sensitive_variables("plaintext")
@transaction.atomic
def key_reveal(*, key_id: uuid.UUID | str, user: Any, ip: str | None, user_agent: str) -> Revealed:
    """Unseal a key for its owner and record the reveal in the same transaction (LOCK-4, ESD-8).

    Raises ``ProductKey.DoesNotExist`` for anyone but the owner, so a guessed id learns nothing.
    """
    key = (
        ProductKey.objects.revealable_by(user)
        .select_for_update(of=("self",), no_key=True)
        .select_related("product")
        .get(pk=key_id)
    )
    now = timezone.now()
    RevealEvent.objects.create(key=key, user=user, at=now, ip=ip or None, user_agent=(user_agent or "")[:400])
    if key.revealed_at is None:
        key.revealed_at = now
        key.status = ProductKey.Status.REVEALED
        key.save(update_fields=["revealed_at", "status"])
        forget_owners([user.pk])  # the card now says when the key was first opened
        key_id_ = key.pk
        transaction.on_commit(
            lambda: key_first_revealed.send(sender=ProductKey, key_id=key_id_, at=now), robust=True
        )
    plaintext = vault.open_from(key, ProductKey.SEAL_KIND)
    return Revealed(key=key, plaintext=plaintext)
