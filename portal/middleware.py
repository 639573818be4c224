"""Responses that may hold a customer's data are never stored by a shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
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


class MethodNotAllowedPageMiddleware:
    """A browser that reloads or follows a link to an address that only takes a POST (a reveal, a cancel)
    gets the portal's 405 page rather than a blank one; Django has no template hook for 405. Only views'
    ``HttpResponseNotAllowed`` answers to requests that accept HTML are replaced, the ``Allow`` header kept;
    the API's problem+json answers and every other client's are left as they are."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and "text/html" in request.headers.get("Accept", ""):
            page = render(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page
        return response
