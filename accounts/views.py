"""Settings → Mail domains: the domains a reseller declares as its own (ESD-7); the organisation switcher."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from .models import MailDomain
from .services import mail_domain_declare, mail_domain_remove
from .tenancy import ResellerAdminRequiredMixin, organisation_choose


class MailDomainForm(forms.Form):
    domain = forms.CharField(
        label=gettext_lazy("Mail domain"),
        max_length=253,
        help_text=gettext_lazy("e.g. shop.example.com; its subdomains are covered too."),
    )


class MailDomainListView(ResellerAdminRequiredMixin, View):
    template = "accounts/mail_domains.html"

    def _render(self, request: HttpRequest, form: MailDomainForm) -> HttpResponse:
        domains = MailDomain.objects.for_org(self.organisation).select_related("created_by")
        return render(request, self.template, {"domains": domains, "form": form})

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, MailDomainForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MailDomainForm(request.POST)
        if form.is_valid():
            try:
                declared = mail_domain_declare(
                    organisation=self.organisation, actor=request.user, domain=form.cleaned_data["domain"]
                )
            except ValidationError as exc:
                form.add_error("domain", exc)
            else:
                messages.success(request, _("%(domain)s is declared as yours.") % {"domain": declared.domain})
                return redirect("mail_domains:list")
        return self._render(request, form)


class MailDomainRemoveView(ResellerAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            mail_domain_remove(organisation=self.organisation, domain_id=pk)
        except MailDomain.DoesNotExist:
            raise Http404 from None
        messages.success(request, _("The domain was removed."))
        return redirect("mail_domains:list")


@login_required
@require_POST
def organisation_switch(request: HttpRequest) -> HttpResponse:
    """The header's switcher (CC-11): the session acts for another of the person's organisations, and the
    home page of that organisation opens (a page of the previous one, an order say, is not its page).
    An organisation the person does not belong to changes nothing (ALL-1)."""
    organisation = organisation_choose(request, request.POST.get("organisation"))
    if organisation is None:
        messages.error(request, _("You are not a member of that organisation."))
    else:
        messages.success(request, _("You are now working for %(name)s.") % {"name": organisation.name})
    return redirect("home")
