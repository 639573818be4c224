"""Responses that may hold a customer's data are never stored by a shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateByDefaultMiddleware:
    """Every page and API answer the portal renders says ``Cache-Control: private`` unless its view chose
    otherwise (a reveal's ``no-store`` stays). Static files are served before this by WhiteNoise, with
    their own long-lived public headers; nothing the views render is meant for a proxy's cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True)
        return response
