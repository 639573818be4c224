"""The product registration form (CC-10): what was typed is kept; the rules are the service's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .services.licences import NUMBER_MAX_LENGTH


class ProductRegistrationForm(forms.Form):
    installation_number = forms.CharField(
        label=_("Installation number"),
        max_length=NUMBER_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
        help_text=_(
            "As printed on the documents that came with the product; spaces and dashes do not matter."
        ),
        error_messages={"required": _("Enter the installation number.")},
    )
    customer_id = forms.CharField(
        label=_("Customer id"),
        max_length=32,
        help_text=_("Your organisation's customer id, as on the distributor's invoices."),
        error_messages={"required": _("Enter your customer id.")},
    )
