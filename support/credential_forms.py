"""The customer's form for giving support access with a request (SUP-10): the password is never shown
back (not even after a refusal)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RequestCredential


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(label=_("Access to"), choices=RequestCredential.Kind.choices)
    host = forms.CharField(label=_("Address of the admin panel or server"), max_length=500)
    username = forms.CharField(label=_("User name"), max_length=200, required=False)
    secret = forms.CharField(
        label=_("Password"),
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Sealed at once; only the support staff member working on your request can read it, and it is "
            "destroyed when the request closes."
        ),
    )
