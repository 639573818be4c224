"""Views that any app's pages are built from; they know no app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache


def _shown_settings(shown_settings: dict[str, str]) -> dict[str, Any]:
    """The settings a page shows, by their context names, read at each request."""
    return {name: getattr(settings, setting) for name, setting in shown_settings.items()}


class LinkSentView(View):
    """The one answer to a public form that mails a link (a registration, a web-form request): the address
    typed, kept in the session under ``session_key`` by the form's view, and nothing about what was found.
    Without that address (the page opened directly), back to the form (``form_url``, a URL name). The
    template also gets the settings ``shown_settings`` names (its context name: the setting's name), read at
    each request."""

    session_key: str
    form_url: str
    template_name: str
    shown_settings: dict[str, str] = {}

    def get(self, request: HttpRequest) -> HttpResponse:
        email = request.session.get(self.session_key)
        if not email:
            return redirect(self.form_url)
        context = {"email": email}
        context.update(_shown_settings(self.shown_settings))
        return render(request, self.template_name, context)


@method_decorator(never_cache, name="dispatch")
class LinkConfirmView(View):
    """The page behind a mailed confirmation link (a registration, a new e-mail address, a web-form
    request). GET changes nothing, since mail scanners follow links: it shows what confirming does and a
    button (``page``). POST confirms (``confirm``). A link ``load`` refuses (forged, lapsed, used,
    replaced) and a confirmation the service refuses all raise the app's ``error`` and get the same page,
    ``unavailable_template``, with the settings ``shown_settings`` names (as ``LinkSentView``'s). Never
    cached: the token is in the URL."""

    error: type[Exception]
    unavailable_template: str
    shown_settings: dict[str, str] = {}

    def load(self, token: str) -> Any:
        """What the link names (the service that reads the token); raises ``error`` for a dead link."""
        raise NotImplementedError

    def page(self, request: HttpRequest, found: Any) -> HttpResponse:
        """GET: what confirming does, and the button."""
        raise NotImplementedError

    def confirm(self, request: HttpRequest, found: Any) -> HttpResponse:
        """POST: confirm through the service (which raises ``error`` when it can no longer), and say so."""
        raise NotImplementedError

    def unavailable(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.unavailable_template, _shown_settings(self.shown_settings))

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            found = self.load(token)
        except self.error:
            return self.unavailable(request)
        return self.page(request, found)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            return self.confirm(request, self.load(token))
        except self.error:
            return self.unavailable(request)
