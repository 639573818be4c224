from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Product

from .services import MAX_UNITS_PER_LINE


class OrderForm(forms.Form):
    end_customer_email = forms.EmailField(
        max_length=254,
        label=_("End customer's e-mail"),
        help_text=_("The keys go to the Digital Locker of this address. Only the customer can open them."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    end_customer_email_confirmation = forms.EmailField(
        max_length=254,
        label=_("E-mail again"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        a, b = data.get("end_customer_email"), data.get("end_customer_email_confirmation")
        if a and b and a.strip().lower() != b.strip().lower():
            self.add_error(
                "end_customer_email_confirmation",
                _("The two addresses differ (ESD orders go to one address)."),
            )
        return data


class OrderLineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.esd_orderable(),
        empty_label=_("Choose a product…"),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_UNITS_PER_LINE, initial=1)

    def has_changed(self) -> bool:
        # A row with only the default quantity and no product is an empty row, not an error.
        return bool(self.data.get(self.add_prefix("product")))


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(form.cleaned_data.get("product") for form in self.forms if form.has_changed()):
            raise forms.ValidationError(_("Add at least one product."))


LineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseLineFormSet, extra=3, max_num=50, validate_max=True
)


class CorrectEmailForm(forms.Form):
    new_email = forms.EmailField(
        max_length=254,
        label=_("Correct e-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    new_email_confirmation = forms.EmailField(
        max_length=254, label=_("E-mail again"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        a, b = data.get("new_email"), data.get("new_email_confirmation")
        if a and b and a.strip().lower() != b.strip().lower():
            self.add_error("new_email_confirmation", _("The two addresses differ."))
        return data
