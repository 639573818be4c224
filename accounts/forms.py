from __future__ import annotations

from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from allauth.utils import get_form_class
from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import User, normalise_email
from .services import address_taken


class ResetPasswordKeyForm(AllauthResetPasswordKeyForm):
    """ESD-13: the form behind a reset link asks for the account's e-mail again.

    A forwarded or intercepted link alone is therefore not enough to take over a locker account.
    """

    email = forms.EmailField(
        label=_("Your e-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("The address the link was sent to."),
    )

    field_order = ["email", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)

    def clean_email(self) -> str:
        email = normalise_email(self.cleaned_data["email"])
        if self.user is None or normalise_email(self.user.email) != email:
            raise forms.ValidationError(_("This is not the address this link was sent to."))
        return email


class NoAddEmailForm(AllauthAddEmailForm):
    """allauth's "add e-mail address" form, refusing every address (ESD-14, ESD-15).

    Keys go to the account whose address is the order's, so an address a user adds and makes primary
    would draw another person's keys into that user's locker; an end customer's address changes only by
    the reseller's correction. ``portal.urls`` answers 404 for the page already; this is the second lock.
    """

    def clean_email(self) -> str:
        raise forms.ValidationError(
            _(
                "The address of an account cannot be changed here. If an order went to the wrong address, "
                "ask the reseller to correct it."
            ),
            code="email_change_refused",
        )


def _free_address(typed: str, user: User | None) -> str:
    """The address normalised, refused when another account has it in any spelling its mailbox receives
    alike (one mailbox, one account: as the portal's own change of address refuses it)."""
    email = normalise_email(typed)
    if (user is None or email != user.email) and address_taken(email, exclude=user):
        raise forms.ValidationError(_("Another account has this address, or one its mailbox receives alike."))
    return email


class UserAddForm(forms.ModelForm):
    """ESD-8: staff add a user without a password (unusable); the owner of the address chooses one through a
    set-password link, which the form offers to send."""

    send_set_password_link = forms.BooleanField(
        label=_("Send a set-password link"),
        required=False,
        initial=True,
        help_text=_(
            "Mails the address the same link “Forgot password” sends. Staff never set a password themselves."
        ),
    )

    class Meta:
        model = User
        fields = ["email", "full_name"]

    def clean_email(self) -> str:
        return _free_address(self.cleaned_data["email"], None)

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
            self.save_m2m()
        return user


class UserChangeForm(forms.ModelForm):
    """The admin's user form, without any password field (ESD-8: staff never set one)."""

    class Meta:
        model = User
        fields = ["email", "full_name", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"]
        help_texts = {
            "email": _(
                "The login, and where set-password links go. Changing it here also clears the account's "
                "password: the owner of the new address chooses one through a set-password link."
            ),
        }

    def clean_email(self) -> str:
        return _free_address(self.cleaned_data["email"], self.instance)


def send_set_password_link(request: HttpRequest, user: User) -> bool:
    """Mail ``user`` the set-password link "Forgot password" would send to the account's address.

    allauth's own reset form and flow make and send it (the ``reset_password`` form the portal configures,
    tokens from ``ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR``, i.e. ``accounts.tokens.LockerTokenGenerator``), so
    the link is the same kind, dies the same way and asks for the address again (ESD-13). The link goes
    only into the mail: nothing is returned. False, and nothing sent, for an inactive account (the form
    finds active accounts only).
    """
    form_class = get_form_class(allauth_settings.FORMS, "reset_password", AllauthResetPasswordForm)
    form = form_class(data={"email": user.email})
    if not user.is_active or not form.is_valid() or user.pk not in {u.pk for u in form.users}:
        return False
    form.save(request)
    return True
