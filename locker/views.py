from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.tenancy import organisation_of

from .models import ProductKey
from .selectors import locker_keys
from .services import key_reveal

PAGE_SIZE = 50  # a locker of hundreds of keys stays fast: pages, not one huge page


def _client_ip(request: HttpRequest) -> str | None:
    """The customer's address for the reveal record (LOCK-4), also behind the trusted proxy."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = [
            hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()
        ]
        if forwarded:
            candidate = forwarded[-1]
            try:
                ipaddress.ip_address(candidate)
                return candidate
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def locker_account_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The locker is for end customers: staff and reseller users never open one (ESD-7, ESD-8)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if organisation_of(request.user) is not None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _render_locker(request: HttpRequest, revealed: dict[str, str] | None = None) -> HttpResponse:
    page = Paginator(locker_keys(owner=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    keys = list(page.object_list)
    for key in keys:
        key.revealed_plaintext = (revealed or {}).get(str(key.pk))  # type: ignore[attr-defined]
    # Per-page strings computed once: 200 cards rendering them each cost more than the query.
    context: dict[str, Any] = {
        "page": page,
        "keys": keys,
        "reveal_prefix": reverse("locker:index") + "keys/",
        "page_suffix": f"?page={page.number}" if page.number > 1 else "",
        "delivered_label": _("Delivered"),
        "opened_label": _("First opened"),
        "until_label": _("Available until"),
    }
    response = render(request, "locker/locker.html", context)
    if revealed:
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, private"
    return response


@locker_account_required
@require_GET
def locker(request: HttpRequest) -> HttpResponse:
    """The end customer's locker: each delivered product, its installer link and its key, masked (ESD-16)."""
    return _render_locker(request)


@sensitive_post_parameters()
@locker_account_required
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
