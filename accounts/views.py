"""Settings → Mail domains: the domains a reseller declares as its own (ESD-7); the organisation switcher;
the set-password pages behind the welcome mail's link (ESD-9, ESD-13)."""

from __future__ import annotations

from typing import Any

from allauth.account.views import PasswordResetFromKeyDoneView, PasswordResetFromKeyView
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
from .tenancy import ResellerAdminRequiredMixin, organisation_choose, tenancy_for

# The session's note, for the page after a password was set through a link, that the account opens a locker.
OPENS_LOCKER_SESSION_KEY = "accounts.password_set_opens_locker"


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


class PasswordSetView(PasswordResetFromKeyView):
    """allauth's form behind a set-password link (the welcome mail's, ESD-9, or "Forgot password"'s, ESD-13),
    unchanged but for one note: whether the account is an end customer's, so that the next page offers the
    way straight to the Digital Locker. The person is not signed in by it (``ACCOUNT_LOGIN_ON_PASSWORD_RESET``
    is off: they log in with the new password)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        self.request.session[OPENS_LOCKER_SESSION_KEY] = tenancy_for(self.reset_user).uses_locker
        return response


class PasswordSetDoneView(PasswordResetFromKeyDoneView):
    """The page after a password was set: "Open my Digital Locker" (the login, then the locker) for an end
    customer, "Log in" for everybody else."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["opens_locker"] = bool(self.request.session.get(OPENS_LOCKER_SESSION_KEY))
        return context
