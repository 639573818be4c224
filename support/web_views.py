"""The public web form and the signed links (``/help/``; SUP-5..7, SVC-6, ALL-1, ALL-2): no login.

The form's answer is the same whatever was typed (a known or unknown support number, a bot caught by the
honeypot): a page saying a link was sent. Submissions are limited per client and per e-mail address
(``accounts.login_limits.count_attempt``). The confirmation link's page confirms only on POST (mail
scanners follow links); a forged, lapsed or used link gets one neutral page. The follow link shows the
public conversation (never an internal note) and takes the customer's answers.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from accounts.login_limits import count_attempt
from core.errors import add_to_form
from core.views import LinkConfirmView, LinkSentView

from .errors import SupportError
from .models import HeldWebRequest, SupportRequest
from .selectors import public_conversation
from .services.web_form import (
    held_from_token,
    request_from_follow_token,
    web_request_answer,
    web_request_confirm,
    web_request_hold,
)
from .tokens import follow_token
from .web_forms import WebAnswerForm, WebRequestForm

SENT_TO = "support_web_form_sent_to"
LIMIT_IP = "support_web_form_ip"
LIMIT_EMAIL = "support_web_form_email"


class HelpFormView(View):
    template = "help/form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template, self.context(WebRequestForm()))

    def context(self, form: WebRequestForm) -> dict[str, object]:
        return {"form": form, "support_email": settings.PORTAL_SUPPORT_EMAIL}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = WebRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            email = (data["email"] or "").strip()
            if count_attempt(request, LIMIT_IP) is None or (
                count_attempt(request, LIMIT_EMAIL, key=email.lower()) is None
            ):
                form.add_error(None, _("Too many requests from here. Please try again later."))
            elif data["website"]:
                request.session[SENT_TO] = email  # a bot: nothing is kept, the same answer
                return redirect("help:sent")
            else:
                try:
                    web_request_hold(email=email, **form.request_fields())
                except SupportError as error:
                    add_to_form(form, error)
                else:
                    request.session[SENT_TO] = email
                    return redirect("help:sent")
        return render(request, self.template, self.context(form))


class HelpSentView(LinkSentView):
    session_key, form_url, template_name = SENT_TO, "help:form", "help/sent.html"
    shown_settings = {"days": "SUPPORT_WEB_FORM_HOLD_DAYS"}


class HelpConfirmView(LinkConfirmView):
    """GET shows the held request and a button; POST confirms: filed (its number and follow link) or
    refused (the neutral reason)."""

    error = SupportError
    unavailable_template = "help/unavailable.html"
    shown_settings = {"days": "SUPPORT_WEB_FORM_HOLD_DAYS"}

    def load(self, token: str) -> HeldWebRequest:
        return held_from_token(token)

    def page(self, request: HttpRequest, held: HeldWebRequest) -> HttpResponse:
        return render(request, "help/confirm.html", {"held": held})

    def confirm(self, request: HttpRequest, held: HeldWebRequest) -> HttpResponse:
        held = web_request_confirm(held_id=held.pk)
        context: dict[str, object] = {"held": held}
        if held.state == HeldWebRequest.State.FILED and held.request is not None:
            context["req"] = held.request
            context["follow_token"] = follow_token(held.request)
        return render(request, "help/confirmed.html", context)


@method_decorator(never_cache, name="dispatch")
class HelpFollowView(View):
    """A web-form request through its signed link: the public conversation and the answer form."""

    def load(self, token: str) -> SupportRequest:
        try:
            return request_from_follow_token(token)
        except SupportError:
            raise Http404 from None

    def render_page(self, request: HttpRequest, req: SupportRequest, form: WebAnswerForm) -> HttpResponse:
        context = {"req": req, "conversation": public_conversation(req), "form": form}
        return render(request, "help/follow.html", context)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return self.render_page(request, self.load(token), WebAnswerForm())

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        req = self.load(token)
        form = WebAnswerForm(request.POST)
        if form.is_valid():
            try:
                web_request_answer(request=req, body=form.cleaned_data["body"])
            except SupportError as error:
                add_to_form(form, error)
            else:
                messages.success(request, _("Your answer was added."))
                return redirect("help:follow", token)
        return self.render_page(request, req, form)
