"""Views that any app's pages are built from; they know no app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View


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
        context.update({name: getattr(settings, setting) for name, setting in self.shown_settings.items()})
        return render(request, self.template_name, context)
