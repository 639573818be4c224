"""Row locks taken for a set of rows at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def locked_in_pk_order(rows: QuerySet[M], ids: Iterable[Any], **conditions: Any) -> list[M]:
    """Those of ``rows`` among ``ids`` that meet ``conditions``, locked (``SELECT … FOR UPDATE``) in the
    order of their ids, so two transactions locking overlapping sets wait for each other and never
    deadlock. Call it inside the transaction the locks are for."""
    return list(rows.select_for_update().filter(pk__in=list(ids), **conditions).order_by("pk"))
