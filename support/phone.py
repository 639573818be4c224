"""The admin's "Record a phone call" form (SUP-6): what staff type while the customer is on the line."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, Kind


class PhoneCallForm(forms.Form):
    customer_id = forms.CharField(label=_("Customer number"), max_length=40)
    person_email = forms.EmailField(
        label=_("Caller's e-mail (a person of the customer)"),
        required=False,
        help_text=_("Optional: the request is then theirs, and they get the confirmation mail."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Kind.SUPPORT, _("Support request")), (Kind.PRE_SALES, _("Pre-sales question"))],
        initial=Kind.SUPPORT,
    )
    support_number = forms.CharField(label=_("Support number"), max_length=60, required=False)
    url = forms.CharField(
        label=_("Address (URL) where the software is installed"), max_length=500, required=False
    )
    category = forms.ChoiceField(
        label=_("What it is about"), choices=[("", "—"), *Category.choices], required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("What was said"), widget=forms.Textarea(attrs={"rows": 8}))
