from __future__ import annotations

from typing import Any

from allauth.account.forms import ResetPasswordKeyForm as AllauthResetPasswordKeyForm
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import normalise_email


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
