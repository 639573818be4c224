"""Product registration (CC-10, SUP-3) at ``/centre/licences/register/``, for people with the *licences*
right (403 otherwise, as the licence list).

Every registration that cannot be made gets the same words (``product_register`` decides; the view only
shows them), and attempts are limited per person and per customer (``accounts.login_limits
.count_attempt``, ``CENTRE_PRODUCT_REGISTRATION_LIMIT_*``). The number stays in its field for the person
who typed it; no message repeats it. Nothing here is cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts.login_limits import count_attempt
from core.errors import add_to_form

from .errors import CentreError
from .licence_views import LicencesRequiredMixin
from .product_registration_forms import ProductRegistrationForm
from .services.product_registration import product_register

LIMIT_USER = "centre_product_register_user"
LIMIT_ORG = "centre_product_register_org"


@method_decorator(sensitive_post_parameters("installation_number"), name="dispatch")
class ProductRegisterView(LicencesRequiredMixin, View):
    template = "centre/licence_register.html"

    def render_form(
        self, request: HttpRequest, form: ProductRegistrationForm, **extra: object
    ) -> HttpResponse:
        response = render(request, self.template, {"form": form, "organisation": self.organisation, **extra})
        add_never_cache_headers(response)
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ProductRegistrationForm(initial={"customer_id": self.organisation.customer_id})
        return self.render_form(request, form)

    @method_decorator(sensitive_variables())
    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProductRegistrationForm(request.POST)
        if not form.is_valid():
            return self.render_form(request, form)
        # Keyed by the address and the customer id (not row ids, which a new database gives out again).
        user_key = "user:" + request.user.get_username().lower()
        org_key = "org:" + (self.organisation.customer_id or str(self.organisation.pk)).upper()
        if count_attempt(request, LIMIT_USER, key=user_key) is None or (
            count_attempt(request, LIMIT_ORG, key=org_key) is None
        ):
            form.add_error(None, _("Too many registration attempts. Please try again later."))
            return self.render_form(request, form)
        try:
            registered = product_register(
                organisation=self.organisation,
                customer_id=form.cleaned_data["customer_id"],
                installation_number=form.cleaned_data["installation_number"],
                actor=request.user,
            )
        except CentreError as error:
            add_to_form(form, error)
            return self.render_form(request, form)
        licence = registered.licence
        if registered.already:
            fresh = ProductRegistrationForm(initial={"customer_id": self.organisation.customer_id})
            return self.render_form(request, fresh, already=licence)
        messages.success(
            request,
            _("%(product)s is registered: support number %(support_number)s, support until %(day)s.")
            % {
                "product": licence.product.name,
                "support_number": licence.support_number,
                "day": date_format(licence.support_ends_on, "SHORT_DATE_FORMAT"),
            },
        )
        return redirect("centre:licences")
