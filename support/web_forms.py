"""The public web form's forms (``/help/``): they read what was typed; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import category_choices
from .models import Kind


class WebRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What do you need?"),
        choices=[(Kind.SUPPORT, _("Help with software I have")), (Kind.PRE_SALES, _("A pre-sales question"))],
        widget=forms.RadioSelect,
        initial=Kind.SUPPORT,
    )
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
    url = forms.CharField(
        label=_("Address (URL) where the software is installed"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "url"}),
        help_text=_("One support number covers one domain. Not needed for a pre-sales question."),
    )
    category = forms.ChoiceField(label=_("What is it about?"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Your question"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    # The honeypot: hidden from people (and from assistive technology); a bot that fills it is dropped
    # silently with the same answer as everyone else.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = category_choices()


class WebAnswerForm(forms.Form):
    body = forms.CharField(label=_("Your answer"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
