"""The registration pages (CC-7, CC-8, ALL-2): public, no login.

The form's answer is the same whatever was found (a matching pair, a wrong half, a customer with an
administrator, an address with an account): a redirect to a page that says a link was sent if the details
match. Attempts are limited per client and per customer id (``accounts.login_limits.count_attempt``); past
a limit the form shows a neutral error. The link's page confirms only on POST: mail scanners follow links.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.login_limits import count_attempt
from core.views import LinkConfirmView, LinkSentView

from .errors import CentreError
from .forms import RegistrationForm
from .models import Registration
from .services.registration import registration_confirm, registration_from_token, registration_submit

SENT_TO = "centre_registration_sent_to"
LIMIT_IP = "centre_register_ip"
LIMIT_CUSTOMER = "centre_register_customer"


class RegisterView(View):
    template = "centre/register.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template, {"form": RegistrationForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RegistrationForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            customer_key = data["customer_id"].strip().upper()
            if count_attempt(request, LIMIT_IP) is None or (
                count_attempt(request, LIMIT_CUSTOMER, key=customer_key) is None
            ):
                form.add_error(None, _("Too many registration attempts. Please try again later."))
            else:
                registration_submit(
                    customer_id=data["customer_id"],
                    tax_id=data["tax_id"],
                    full_name=form.full_name,
                    email=data["email"],
                    password=data["password1"],
                )
                request.session[SENT_TO] = data["email"].strip()
                return redirect("centre:register_sent")
        return render(request, self.template, {"form": form})


class RegisterSentView(LinkSentView):
    """The one answer to every registration (CC-7): the typed address, and nothing about the customer."""

    session_key, form_url, template_name = SENT_TO, "centre:register", "centre/register_sent.html"
    shown_settings = {"registration_days": "CENTRE_REGISTRATION_DAYS"}


class RegisterConfirmView(LinkConfirmView):
    """GET shows what confirming does and a button; POST confirms (CC-8). A forged, used, replaced or
    lapsed link, and a customer that has an administrator by now, all get the same neutral page."""

    error = CentreError
    unavailable_template = "centre/register_unavailable.html"
    shown_settings = {"registration_days": "CENTRE_REGISTRATION_DAYS"}

    def load(self, token: str) -> Registration:
        return registration_from_token(token)

    def page(self, request: HttpRequest, registration: Registration) -> HttpResponse:
        return render(request, "centre/register_confirm.html", {"registration": registration})

    def confirm(self, request: HttpRequest, registration: Registration) -> HttpResponse:
        membership = registration_confirm(registration_id=registration.pk)
        signed_in_as_them = request.user.is_authenticated and request.user.pk == membership.user_id
        context = {"organisation": registration.organisation, "email": registration.email}
        context["signed_in"] = signed_in_as_them
        return render(request, "centre/register_done.html", context)
