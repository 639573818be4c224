from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from .models import ProductKey
from .selectors import locker_keys
from .services import key_reveal

PAGE_SIZE = 200


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _render_locker(request: HttpRequest, revealed: dict[str, str] | None = None) -> HttpResponse:
    page = Paginator(locker_keys(owner=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    keys = list(page.object_list)
    for key in keys:
        key.revealed_plaintext = (revealed or {}).get(str(key.pk))  # type: ignore[attr-defined]
    context: dict[str, Any] = {"page": page, "keys": keys}
    response = render(request, "locker/locker.html", context)
    if revealed:
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_GET
def locker(request: HttpRequest) -> HttpResponse:
    """The end customer's locker: each delivered product, its installer link and its key, masked (ESD-16)."""
    return _render_locker(request)


@login_required
@require_POST
def reveal(request: HttpRequest, key_id: str) -> HttpResponse:
    """Reveal one key to its owner (ESD-8): POST only, never cached, recorded (LOCK-4)."""
    try:
        result = key_reveal(
            key_id=key_id,
            user=request.user,
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except (ProductKey.DoesNotExist, ValueError):
        raise Http404 from None
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"id": str(result.key.pk), "key": result.plaintext})
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, private"
        return response
    return _render_locker(request, revealed={str(result.key.pk): result.plaintext})
