from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.client_ip import client_ip
from accounts.tenancy import uses_locker
from core.dates import DateFormatter

from .models import MASK, ProductKey
from .selectors import locker_page
from .services import key_reveal

PAGE_SIZE = 50  # a locker of thousands of keys stays fast: pages found by position, not one huge page


def locker_account_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The locker is for end customers: accounts with no membership, and members of customer
    organisations (ESD-7: they receive orders, their locker is the same account). Staff (ESD-8: staff never
    see keys, whatever they own) and members of reseller and distributor organisations get 403.

    No query: the signed-in user comes with membership and organisation (accounts.backends)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not uses_locker(user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


# The cards are put together here rather than in a template loop: 50 cards of a dozen template variables
# and conditions each cost several times the rest of the page. Every value from the database is escaped
# (html.escape, as Django's escape does); labels are translated and escaped once per page, and each
# product and each date once.
def _key_cards(keys: list[dict[str, Any]], page_suffix: str, revealed: dict[str, str]) -> SafeString:
    e = html.escape
    # Each card's button posts the page's one reveal form (locker.html, with the CSRF token) to its key.
    reveal_before_id = f'<button type="submit" form="reveal" formaction="{e(reverse("locker:index"))}keys/'
    reveal_after_id = f'/reveal/{e(page_suffix)}" class="btn btn--small">{e(_("Reveal key"))}</button>'
    delivered_label, opened_label = e(_("Delivered")), e(_("First opened"))
    until_label, installer_label = e(_("Available until")), e(_("Download installer"))
    destroyed = _("The retention period ended; this key was destroyed on %(when)s.")
    day_text, moment_text = DateFormatter("DATE_FORMAT"), DateFormatter("DATETIME_FORMAT")
    day_html: dict[Any, str] = {}

    def day(value: Any) -> str:
        text = day_html.get(value)
        if text is None:
            text = day_html[value] = e(day_text(value))
        return text

    retention = timedelta(days=settings.LOCKER_RETENTION_DAYS)
    purged = str(ProductKey.Status.PURGED)
    products: dict[tuple[str, str], tuple[str, str]] = {}
    cards = []
    for key in keys:
        key_id = key["id"]
        product = (key["product_name"], key["installer_url"])
        if product not in products:
            name, url = product
            products[product] = (
                e(name),
                f'<a href="{e(url)}" rel="noopener">{installer_label}</a>' if url else "",
            )
        name_html, installer_html = products[product]
        allocated_at, revealed_at = key["allocated_at"], key["revealed_at"]
        masked = f'<span class="key key--masked">{e(MASK + key["last5"])}</span>'
        if key["status"] == purged:
            when = e(destroyed % {"when": day_text(key["purged_at"])})
            shown = f'{masked}<p class="muted">{when}</p>'
            actions = installer_html
        else:
            plaintext = revealed.get(key_id)
            if plaintext:
                shown = f'<span class="key key--revealed" data-revealed="1">{e(plaintext)}</span>'
            else:
                shown = masked
            actions = f"{reveal_before_id}{key_id}{reveal_after_id}{installer_html}"
        if revealed_at:
            actions += f'<span class="muted">{opened_label} {e(moment_text(revealed_at))}</span>'
        if key["status"] != purged and allocated_at:
            actions += (
                f'<span class="muted available-until">{until_label} {day(allocated_at + retention)}</span>'
            )
        cards.append(
            f'<article class="card key-card" data-key-id="{key_id}">\n'
            f'<div class="key-card__head"><h2 class="key-card__title">{name_html}</h2>'
            f'<span class="muted">{delivered_label} {day(allocated_at)}</span></div>\n'
            f"<div>{shown}</div>\n"
            f'<div class="key-card__actions">{actions}</div>\n'
            "</article>\n"
        )
    return mark_safe("".join(cards))  # noqa: S308 (every value above is escaped)


def _render_locker(request: HttpRequest, revealed: dict[str, str] | None = None) -> HttpResponse:
    page = locker_page(
        owner=request.user, before=request.GET.get("before"), after=request.GET.get("after"), size=PAGE_SIZE
    )
    context: dict[str, Any] = {
        "newer_url": f"?after={page.newer}" if page.newer else "",
        "older_url": f"?before={page.older}" if page.older else "",
        # A reveal returns to the page it was made on.
        "cards": _key_cards(page.keys, f"?{page.cursor}" if page.cursor else "", revealed or {}),
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
            ip=client_ip(request),
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
