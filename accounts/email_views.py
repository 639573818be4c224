"""A person's own e-mail address (``/account/email/``): the form that asks for the change and the page
behind the link mailed to the new address (``accounts.email_change``). Thin: the service decides.

Every request gets the same answer, whether the address can be used or another account has it (ESD-13's
no-enumeration): "if it can be used, a link was sent to it". Requests are limited per account and per
client (``ACCOUNT_RATE_LIMITS["email_change"]``), counted before the password is looked at. The link's page
changes nothing on GET: mail scanners follow links.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.decorators.cache import never_cache

from core.views import LinkConfirmView

from .email_change import AccountError, email_change_confirm, email_change_from_token, email_change_request
from .login_limits import count_attempt
from .models import EmailChange, User, normalise_email

LIMIT = "email_change"


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=gettext_lazy("New e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=gettext_lazy("We send a link there. Your address changes only when that link is opened."),
    )
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("To be sure it is you."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_new_email(self) -> str:
        email = normalise_email(self.cleaned_data["new_email"])
        if email == self.user.email:
            raise forms.ValidationError(_("This is already your address."), code="same_email")
        return email


@method_decorator(never_cache, name="dispatch")
class EmailChangeView(LoginRequiredMixin, View):
    template = "accounts/email_change.html"

    def _render(self, request: HttpRequest, form: EmailChangeForm) -> HttpResponse:
        context = {"form": form, "hours": settings.EMAIL_CHANGE_HOURS}
        return render(request, self.template, context)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, EmailChangeForm(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)  # LoginRequiredMixin
        form = EmailChangeForm(request.POST, user=user)
        if count_attempt(request, LIMIT, key=str(user.pk)) is None:
            form.is_valid()  # the typed address stays, with the limit's message above the form
            form.add_error(None, _("Too many requests to change your address. Please try again later."))
            return self._render(request, form)
        if form.is_valid():
            if not user.check_password(form.cleaned_data["password"]):
                form.add_error("password", _("This is not your password."))
                return self._render(request, form)
            email_change_request(user=user, new_email=form.cleaned_data["new_email"])
            messages.success(
                request,
                ngettext(
                    "If %(email)s can be used, we have sent a link to it. Your address changes only when "
                    "that link is opened, within %(hours)s hour.",
                    "If %(email)s can be used, we have sent a link to it. Your address changes only when "
                    "that link is opened, within %(hours)s hours.",
                    settings.EMAIL_CHANGE_HOURS,
                )
                % {"email": form.cleaned_data["new_email"], "hours": settings.EMAIL_CHANGE_HOURS},
            )
            return redirect("account_email:change")
        return self._render(request, form)


class EmailChangeConfirmView(LinkConfirmView):
    """GET shows what confirming does and a button; POST confirms. A forged, used, replaced or expired link,
    and an address taken meanwhile, all get the same page."""

    error = AccountError
    unavailable_template = "accounts/email_change_unavailable.html"
    shown_settings = {"hours": "EMAIL_CHANGE_HOURS"}

    def load(self, token: str) -> tuple[EmailChange, int]:
        return email_change_from_token(token)

    def page(self, request: HttpRequest, found: tuple[EmailChange, int]) -> HttpResponse:
        change, _generation = found
        return render(request, "accounts/email_change_confirm.html", {"change": change})

    def confirm(self, request: HttpRequest, found: tuple[EmailChange, int]) -> HttpResponse:
        change, generation = found
        email_change_confirm(change_id=change.pk, generation=generation)
        return render(request, "accounts/email_change_done.html", {"email": change.to_email})
