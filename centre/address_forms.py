"""The address forms (CC-4): they check what was typed; the rules (required fields, the country list, the
postcode's shape) are the service's (``centre.services.addresses``), and its refusals come back next to
their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .countries import COUNTRIES
from .models import Address
from .services.addresses import AddressIn


def _country_choices() -> list[tuple[str, str]]:
    named = sorted(((code, str(name)) for code, name in COUNTRIES), key=lambda pair: pair[1])
    return [("", str(_("Choose a country"))), *named]


class AddressForm(forms.Form):
    label = forms.CharField(label=_("Site name"), max_length=100, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    attention = forms.CharField(label=_("For the attention of"), max_length=200, required=False)
    street = forms.CharField(label=_("Street and number"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country_code = forms.ChoiceField(label=_("Country"), required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        field = self.fields["country_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _country_choices()
        if kind == Address.Kind.SITE:
            self.fields["label"].help_text = _("How your colleagues know the site, e.g. “Warehouse Poznań”.")
        else:
            del self.fields["label"]
        autocomplete = {
            "company": "organization",
            "street": "street-address",
            "postcode": "postal-code",
            "city": "address-level2",
            "country_code": "country",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value

    def address_in(self) -> AddressIn:
        data = self.cleaned_data
        return AddressIn(
            label=data.get("label", ""),
            company=data["company"],
            attention=data["attention"],
            street=data["street"],
            postcode=data["postcode"],
            city=data["city"],
            country_code=data["country_code"],
            phone=data["phone"],
        )


def initial_of(address: Address | None, organisation: Any = None) -> dict[str, str]:
    """What the form starts with: the stored address, or for a first billing address the postal address
    staff keep on the organisation (what its invoices print)."""
    if address is not None:
        return address.state()
    if organisation is None:
        return {}
    return {
        "company": organisation.name,
        "street": organisation.street,
        "postcode": organisation.postcode,
        "city": organisation.city,
        "country_code": organisation.country_code,
    }
