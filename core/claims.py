"""Claims by conditional update: work that copies of one task may run at once is done by one of them.

A row is claimed by writing, in one UPDATE, until when this worker holds it, where no other holds it (the
field empty or lapsed). No row lock is held while the slow part runs (an SMTP server answering), and a dead
worker's claim lapses by itself. The expiry carries a random microsecond, which tells this worker's rows
from another's when only some could be claimed (the only case that needs a second query).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Model, Q
from django.utils import timezone


def unclaimed(field: str, now: datetime) -> Q:
    """The rows nobody holds at ``now``: ``field`` empty, or its claim lapsed."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now})


def claim(
    model: type[Model],
    pks: Sequence[Any],
    *,
    field: str,
    hold: timedelta,
    counter: str | None = None,
    **conditions: Any,
) -> tuple[list[Any], datetime]:
    """Claim the rows ``pks`` of ``model`` that match ``conditions`` and nobody holds; return the keys
    claimed (in the order given) and when the claim lapses. ``counter``, if named, counts the attempt."""
    now = timezone.now()
    until = now + hold + timedelta(microseconds=secrets.randbelow(10**6))
    changes: dict[str, Any] = {field: until}
    if counter:
        changes[counter] = F(counter) + 1
    claimed = (
        model._default_manager.filter(pk__in=pks, **conditions)
        .filter(unclaimed(field, now))
        .update(**changes)
    )
    if not claimed:
        return [], until
    if claimed == len(pks):
        return list(pks), until
    mine = set(model._default_manager.filter(pk__in=pks, **{field: until}).values_list("pk", flat=True))
    return [pk for pk in pks if pk in mine], until
