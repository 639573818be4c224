"""Reads of end customers' requests (no organisation of their own: scoped by requester, ALL-1)."""

from __future__ import annotations

from typing import Any

from core.newest_first import newest_first_page
from core.paging import KeysetPage

from .models import Kind, SupportRequest
from .selectors import LIST_FIELDS, REQUEST_PAGE_SIZE


def _own(user: Any) -> Any:
    return SupportRequest.objects.filter(
        requester=user, kind=Kind.ACTIVATION, organisation__kind="distributor"
    )


def end_customer_request_page(
    *, user: Any, before: str | None = None, after: str | None = None, size: int = REQUEST_PAGE_SIZE
) -> KeysetPage:
    """The end customer's own requests, newest first (the (requester, arrival, id) index)."""
    rows = _own(user).only(*LIST_FIELDS)
    return newest_first_page(rows, on="created_at", before=before, after=after, size=size)


def end_customer_request_get(*, user: Any, request_id: Any) -> SupportRequest:
    """One of the end customer's requests; ``DoesNotExist`` for anyone else's as for a missing one."""
    return _own(user).select_related("order").get(pk=request_id)
