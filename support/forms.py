"""The help module's forms: they read what was typed; the rules are the services' (support.services)."""

from __future__ import annotations

from typing import Any, TypedDict

from django import forms
from django.utils.translation import gettext_lazy as _

from centre.models import Licence

from .models import COVERED_CATEGORIES, Category, Kind


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern): a list of uploaded files, maybe empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def category_choices() -> list[Any]:
    covered = [(value, label) for value, label in Category.choices if value in COVERED_CATEGORIES]
    other = [(value, label) for value, label in Category.choices if value not in COVERED_CATEGORIES]
    return [("", _("Choose…")), (_("Covered by support"), covered), (_("Not covered by support"), other)]


class RequestFields(TypedDict):
    """What every new request asks, as the services that file or hold one take it."""

    kind: str
    support_number: str
    url: str
    category: str
    subject: str
    body: str


class RequestForm(forms.Form):
    """What every new request asks, whoever files it (the help module, the public web form): the kind, the
    address where the software is installed, the category, subject and text. A subclass adds the support
    number its way and puts the fields in order (``field_order``)."""

    kind = forms.ChoiceField(
        label=_("What do you need?"),
        choices=[(Kind.SUPPORT, _("Help with software I have")), (Kind.PRE_SALES, _("A pre-sales question"))],
        widget=forms.RadioSelect,
        initial=Kind.SUPPORT,
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = category_choices()

    def request_fields(self) -> RequestFields:
        """What was typed (the form is valid), for ``request_file`` or ``web_request_hold``."""
        data = self.cleaned_data
        return RequestFields(
            kind=data["kind"],
            support_number=data["support_number"],
            url=data["url"],
            category=data["category"],
            subject=data["subject"],
            body=data["body"],
        )


class NewRequestForm(RequestForm):
    field_order = ["kind", "support_number", "url", "category", "subject", "body", "attachments"]

    # A select of the entitled licences, read as text: a number that is not there (typed into the request by
    # hand, or whose support ended since) gets the service's reason, not a bare "invalid choice".
    support_number = forms.CharField(
        label=_("Support number"),
        required=False,
        max_length=40,
        widget=forms.Select,
        help_text=_("Your licences whose support is active. Not needed for a pre-sales question."),
    )
    attachments = MultipleFileField(
        label=_("Attachments"), help_text=_("Screenshots or log files; optional.")
    )

    def __init__(self, *args: Any, licences: list[Licence], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["support_number"].widget.choices = [("", _("Choose…"))] + [
            (licence.support_number, f"{licence.support_number} · {licence.product.name}")
            for licence in licences
        ]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your answer"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(label=_("Attachments"))
