"""The downloads page's form (CC-5): it validates what was chosen; the rule is the service's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DeliveryPreference


class DeliveryPreferenceForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How new versions reach you"),
        choices=DeliveryPreference.Method.choices,
        widget=forms.RadioSelect,
        help_text=_("Media go by post to your organisation's delivery address."),
    )
