"""The help module's forms for resellers and end customers (support.intake_views)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import Kind


class ResellerRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[
            (Kind.ORDERING, _("My orders or ordering")),
            (Kind.VOLUME_ORDERING, _("Ordering volume licences")),
            (Kind.PRE_SALES, _("A pre-sales question")),
        ],
        widget=forms.RadioSelect,
        initial=Kind.ORDERING,
    )
    order = forms.CharField(
        label=_("Order"), required=False, widget=forms.Select, help_text=_("Optional: one of your orders.")
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Your question"), required=False, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args: Any, orders: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = pgettext_lazy("purchase order", "No particular order")
        self.fields["order"].widget.choices = [("", none)] + [
            (order.pk, f"#{order.pk} · {order.reseller_reference or order.end_customer_email}")
            for order in orders
        ]


class ActivationRequestForm(forms.Form):
    order = forms.CharField(
        label=pgettext_lazy("purchase order", "Order your key came with"),
        required=False,
        widget=forms.Select,
        help_text=_("The order your key came with: it stands in for a support number."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("What happens when you activate the key?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, orders: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].widget.choices = [("", _("Choose…"))] + [
            (order.pk, f"#{order.pk} · {order.created_at:%Y-%m-%d}") for order in orders
        ]


class AnswerForm(forms.Form):
    body = forms.CharField(label=_("Your answer"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
