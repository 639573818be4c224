"""Reads of end customers' requests (no organisation of their own: scoped by requester, ALL-1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.paging import KeysetPage, keyset_page

from .models import Kind, SupportRequest
from .selectors import REQUEST_PAGE_SIZE


def _own(user: Any) -> Any:
    return SupportRequest.objects.filter(
        requester=user, kind=Kind.ACTIVATION, organisation__kind="distributor"
    )


def end_customer_request_page(
    *, user: Any, before: str | None = None, after: str | None = None, size: int = REQUEST_PAGE_SIZE
) -> KeysetPage:
    """The end customer's own requests, newest first (the (requester, arrival, id) index)."""
    rows = _own(user).only("pk", "number", "subject", "status", "kind", "sla_state", "due_at", "created_at")
    return keyset_page(
        rows,
        fields=["created_at", "id"],
        kinds=[datetime, int],
        before=before,
        after=after,
        size=size,
        position_of=lambda request: [request.created_at, request.pk],
        first_page_when_empty=True,
    )


def end_customer_request_get(*, user: Any, request_id: Any) -> SupportRequest:
    """One of the end customer's requests; ``DoesNotExist`` for anyone else's as for a missing one."""
    return _own(user).select_related("order").get(pk=request_id)
