from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from accounts.client_ip import client_ip
from accounts.tenancy import uses_locker
from core.dates import DateFormatter
from core.paging import pager_links
from core.rows import render_rows

from .kept_cards import kept_first_page
from .models import MASK, ProductKey
from .selectors import locker_page
from .services import Revealed, key_reveal

PAGE_SIZE = 50  # a locker of thousands of keys stays fast: pages found by position, not one huge page


def locker_account_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The locker is for end customers: accounts with no membership, and members of customer
    organisations only (ESD-7: they receive orders, their locker is the same account). Staff (ESD-8: staff
    never see keys, whatever they own) and members of reseller and distributor organisations get 403.
    Whom the request acts for is resolved once per request (``accounts.tenancy``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not uses_locker(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


_ANY_KEY = uuid.UUID(int=0)


@sensitive_variables()  # the revealed key: never in an error report's frame variables
def _cards(keys: list[dict[str, Any]], revealed: Revealed | None, page_query: str) -> list[dict[str, Any]]:
    """What each card of jinja/locker/_key_cards.html shows: the page's rows with the key masked, the
    plaintext of the key just revealed (in the reveal response, and only there), the address its reveal
    button posts to (back to this page), and the dates as the ``|date`` filter writes them.

    Worked out here once per page rather than per card in the template (bench/README.md, "Figures behind
    the code"): each distinct date formatted once (``core.dates.DateFormatter``; 150 ``|date`` filters
    cost as much as the rest of the page) and one ``reverse()`` for every card's reveal address.
    """
    day, moment = DateFormatter("DATE_FORMAT"), DateFormatter("DATETIME_FORMAT")
    reveal_url = reverse("locker:reveal", args=[_ANY_KEY])
    shown = revealed.key.pk if revealed is not None else None
    cards = []
    for key in keys:
        key_id = str(key["id"])
        destroyed = key["status"] == ProductKey.Status.PURGED
        cards.append(
            {
                **key,
                "id": key_id,
                "masked": MASK + key["last5"],
                "plaintext": revealed.plaintext if revealed is not None and key["id"] == shown else "",
                "destroyed": destroyed,
                "reveal_url": reveal_url.replace(str(_ANY_KEY), key_id) + page_query,
                "delivered_on": day(key["allocated_at"]),
                "destroyed_note": (
                    _("The retention period ended; this key was destroyed on %(when)s.")
                    % {"when": day(key["purged_at"])}
                    if destroyed
                    else ""
                ),
                "available_until": "" if destroyed else day(ProductKey.retention_end(key["allocated_at"])),
                "opened_at": moment(key["revealed_at"]),
                "order_id": key["order_id"] or "",
            }
        )
    return cards


@sensitive_variables()  # with a reveal, the key in clear: never in an error report's frame variables
def _page_cards(
    request: HttpRequest, revealed: Revealed | None, before: str | None, after: str | None
) -> tuple[str, str | None, str | None]:
    """A page of the locker: its cards rendered (with the key just revealed in clear, if any), and the
    cursors of the pages before and after it."""
    page = locker_page(owner=request.user, before=before, after=after, size=PAGE_SIZE)
    # A reveal returns to the page it was made on.
    cards = _cards(page.keys, revealed, f"?{page.cursor}" if page.cursor else "")
    labels = {
        "delivered": _("Delivered"),
        "order": _("Order"),
        "copy": _("Copy"),
        "reveal": _("Reveal key"),
        "installer": _("Download installer"),
        "opened": _("First opened"),
        "until": _("Available until"),
    }
    html = render_rows("locker/_key_cards.html", {"cards": cards, "labels": labels}) if cards else ""
    return html, page.newer, page.older


@sensitive_variables()
def _render_locker(request: HttpRequest, revealed: Revealed | None = None) -> HttpResponse:
    """The locker page; with ``revealed``, the reveal response, which alone shows that key (never cached).

    The first page without a key in clear, what an owner opens again and again, comes from the cache while
    none of its keys changed (``kept_cards``)."""
    before, after = request.GET.get("before"), request.GET.get("after")
    if revealed is None and not before and not after:
        cards, newer, older = kept_first_page(request.user, lambda: _page_cards(request, None, None, None))
    else:
        cards, newer, older = _page_cards(request, revealed, before, after)
    response = render(request, "locker/locker.html", {"cards": cards, **pager_links(newer, older)})
    if revealed is not None:
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
@require_http_methods(["GET", "POST"])
def reveal(request: HttpRequest, key_id: str) -> HttpResponse:
    """Reveal one key to its owner (ESD-8): by POST only, never cached, recorded (LOCK-4).

    The page's script posts here and shows the answer in the card, so the address bar keeps the locker's
    address. Without the script the POST answers with the locker page showing the key; a GET of this
    address (that page reloaded by hand, or its address opened again) goes back to the locker, where the
    key is masked again, rather than answering 405.
    """
    if request.method == "GET":
        return redirect(reverse("locker:index") + (f"?{request.GET.urlencode()}" if request.GET else ""))
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
    return _render_locker(request, revealed=result)
