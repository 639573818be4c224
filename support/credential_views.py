"""The customer gives support access with a request (SUP-10): POST only, from the request's page. The
password is sealed by ``services.credentials`` and never echoed back; a refusal shows the form again with
the errors by field and without the password."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from core.errors import add_to_form

from .credential_forms import CredentialForm
from .errors import SupportError
from .services.credentials import credential_add
from .views import SupportRequiredMixin


@method_decorator(sensitive_post_parameters("secret"), name="dispatch")
class CredentialAddView(SupportRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = CredentialForm(request.POST)
        if form.is_valid():
            try:
                credential_add(
                    organisation=self.organisation, request_id=pk, user=request.user, **form.cleaned_data
                )
            except SupportError as error:
                if error.code == "not_found":
                    raise Http404 from None
                add_to_form(form, error)
            else:
                messages.success(
                    request, _("Thank you: the access is sealed for the staff member working on it.")
                )
                return HttpResponseRedirect(reverse("support:detail", args=[pk]) + "#credentials-title")
        return render(request, "support/credentials.html", {"form": form, "request_pk": pk}, status=200)
