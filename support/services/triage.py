"""The staff queue's bulk work (SUP-12): assign requests to a staff member (or take them), close them.

Assigning is one bulk update and one bulk insert of ``SupportEvent`` rows (ALL-3) over the locked rows;
closing goes through the state machine one request at a time (``requests.request_move``), because each
close stops its own clock and destroys its own credentials (SUP-10).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..errors import SupportError
from ..models import SupportEvent, SupportRequest
from .requests import request_move


def triage_assign(*, request_ids: Iterable[Any], assignee: Any, actor: Any, kinds: Iterable[str]) -> int:
    """Assign the requests among ``request_ids`` that ``actor`` may see (``kinds``) to ``assignee``,
    each move recorded; the number of requests whose assignee changed."""
    ids = [int(i) for i in request_ids]
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            SupportRequest.objects.select_for_update()
            .filter(pk__in=ids, kind__in=list(kinds))
            .exclude(assignee=assignee)
            .only("pk", "assignee_id")
            .order_by("pk")
        )
        if not rows:
            return 0
        SupportRequest.objects.filter(pk__in=[r.pk for r in rows]).update(assignee=assignee)
        SupportEvent.objects.bulk_create(
            SupportEvent(
                request_id=row.pk,
                kind=SupportEvent.Kind.ASSIGNED,
                actor=actor,
                at=now,
                data={"from": row.assignee_id, "to": assignee.pk if assignee else None},
            )
            for row in rows
        )
    return len(rows)


def triage_close(*, request_ids: Iterable[Any], actor: Any, kinds: Iterable[str]) -> tuple[int, int]:
    """Close the requests among ``request_ids`` that ``actor`` may see, each through the state machine
    (recorded, the clock stopped); (closed, refused)."""
    ids = list(
        SupportRequest.objects.filter(pk__in=[int(i) for i in request_ids], kind__in=list(kinds))
        .exclude(status=SupportRequest.Status.CLOSED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    closed = refused = 0
    for pk in ids:
        try:
            request_move(request_id=pk, to=SupportRequest.Status.CLOSED, actor=actor)
            closed += 1
        except SupportError:
            refused += 1
    return closed, refused
