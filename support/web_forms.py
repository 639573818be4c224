"""The public web form's forms (``/help/``): they read what was typed; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import RequestForm


class WebRequestForm(RequestForm):
    field_order = ["kind", "email", "support_number", "url", "category", "subject", "body", "website"]

    email = forms.CharField(
        label=_("Your e-mail address"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send a link to confirm it: the request is filed only then."),
    )
    support_number = forms.CharField(
        label=_("Support number"),
        required=False,
        max_length=40,
        help_text=_("On your licence. Not needed for a pre-sales question."),
    )
    # The honeypot: hidden from people (and from assistive technology); a bot that fills it is dropped
    # silently with the same answer as everyone else.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )


class WebAnswerForm(forms.Form):
    body = forms.CharField(label=_("Your answer"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
