from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from .selectors import ProductChoice
from .services import MAX_UNITS_PER_LINE, RESELLER_REFERENCE_MAX, LineIn, OrderQuote

MAX_LINES = 50


def money(amount: Decimal, currency: str | None = None) -> str:
    """An amount as people read it in the active language, with its currency: "1,234.50 EUR"."""
    shown = number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{shown} {currency or settings.INVOICE_CURRENCY}"


def product_label(product: ProductChoice, quantity: int) -> str:
    """How the product select names a product: name, SKU, net unit price and whether ``quantity`` is in
    stock, never how many keys there are (issue #13)."""
    availability = _("in stock") if product.in_stock(quantity) else _("will wait for stock")
    price = _("%(price)s net") % {"price": money(product.unit_price)}
    return f"{product.name} ({product.sku}) · {price} · {availability}"


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
    reseller_reference = forms.CharField(
        max_length=RESELLER_REFERENCE_MAX,
        required=False,
        label=_("Your reference (optional)"),
        help_text=_("For example your purchase order number. Shown on the order and on the invoice."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
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
    """One product line. The choices come from ``orders.selectors.orderable_products``, read once for the
    whole form (not a query per line); each option says whether this line's quantity is in stock."""

    product = forms.TypedChoiceField(label=_("Product"), coerce=int, empty_value=None)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_UNITS_PER_LINE, initial=1)
    # The price the confirmation step showed (a hidden field there): placing refuses if it changed since.
    unit_price = forms.DecimalField(
        required=False, max_digits=10, decimal_places=2, min_value=0, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, products: Sequence[ProductChoice] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = {product.pk: product for product in products}
        quantity = self._quantity_typed()
        field: Any = self.fields["product"]
        field.choices = [("", _("Choose a product…"))] + [
            (product.pk, product_label(product, quantity)) for product in products
        ]

    def _quantity_typed(self) -> int:
        raw = self.data.get(self.add_prefix("quantity")) if self.is_bound else self.initial.get("quantity")
        try:
            return max(int(str(raw)), 1)
        except (TypeError, ValueError):
            return 1

    def has_changed(self) -> bool:
        # A row with only the default quantity and no product is an empty row, not an error.
        return bool(self.data.get(self.add_prefix("product")))

    @property
    def chosen(self) -> ProductChoice | None:
        """The product this line shows as chosen (typed or given), for the text under the select."""
        raw = self.data.get(self.add_prefix("product")) if self.is_bound else self.initial.get("product")
        try:
            return self.products.get(int(str(raw)))
        except (TypeError, ValueError):
            return None

    @property
    def chosen_label(self) -> str:
        chosen = self.chosen
        return product_label(chosen, self._quantity_typed()) if chosen else ""


class BaseLineFormSet(forms.BaseFormSet):
    """The product lines: each can be removed (the DELETE box; the portal's script turns it into a
    "Remove" button), and forms shown again after "Add another product" or "Change" carry what was typed
    as initial values (``shown``), so no error appears before the reseller asks for a review."""

    shown: Sequence[Mapping[str, Any]] = ()

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this line")

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = dict(super().get_form_kwargs(index))
        if not self.is_bound and index is not None and index < len(self.shown):
            kwargs["initial"] = dict(self.shown[index])
        return kwargs

    def _kept(self) -> list[forms.Form]:
        """The lines with a product that were not removed (after validation)."""
        return [f for f in self.forms if f.has_changed() and not getattr(f, "cleaned_data", {}).get("DELETE")]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(form.cleaned_data.get("product") for form in self._kept()):
            raise forms.ValidationError(_("Add at least one product."))

    def lines(self) -> list[LineIn]:
        """The lines to order (after ``is_valid``): those with a product and not removed."""
        return [
            LineIn(
                product_id=f.cleaned_data["product"],
                quantity=f.cleaned_data["quantity"],
                unit_price=f.cleaned_data.get("unit_price"),
            )
            for f in self._kept()
        ]

    def typed_lines(self) -> list[dict[str, str]]:
        """The lines as typed, unchecked, without those marked for removal (for showing the form again)."""
        typed = []
        for f in self.forms:
            if f.fields["DELETE"].widget.value_from_datadict(f.data, f.files, f.add_prefix("DELETE")):
                continue
            product = str(f.data.get(f.add_prefix("product"), ""))[:20]
            quantity = str(f.data.get(f.add_prefix("quantity"), ""))[:20]
            if product or quantity not in ("", "1"):
                typed.append({"product": product, "quantity": quantity or "1"})
        return typed


LineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseLineFormSet,
    extra=1,
    max_num=MAX_LINES,
    validate_max=True,
    can_delete=True,
)


def line_formset(
    data: Mapping[str, Any] | None = None,
    *,
    products: Sequence[ProductChoice],
    shown: Sequence[Mapping[str, Any]] = (),
) -> BaseLineFormSet:
    """The lines of the new-order form: bound to ``data``; or showing the lines ``shown`` (typed before);
    or one empty line."""
    formset = cast(BaseLineFormSet, LineFormSet(data, prefix="lines", form_kwargs={"products": products}))
    if data is None:
        formset.shown = list(shown)[:MAX_LINES]
        formset.extra = max(len(formset.shown), 1)
    return formset


def order_form_again(
    data: Mapping[str, Any], *, products: Sequence[ProductChoice], add_line: bool = False
) -> tuple[OrderForm, BaseLineFormSet]:
    """The new-order form showing what ``data`` holds, without checking it: after "Add another product"
    (with ``add_line``: one more empty line) and after "Change" on the confirmation step."""
    typed = line_formset(data, products=products).typed_lines()
    if add_line or not typed:
        typed.append({})
    initial = {name: str(data.get(name, ""))[:254] for name in OrderForm.base_fields}
    return OrderForm(initial=initial), line_formset(products=products, shown=typed)


def confirmation_fields(quote: OrderQuote, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The hidden fields of the confirmation step: the order as the quote holds it (one line per product,
    with the price shown), which "Place order" sends back to be checked again and "Change" to be edited."""
    fields = [
        ("end_customer_email", str(data.get("end_customer_email", ""))),
        ("end_customer_email_confirmation", str(data.get("end_customer_email_confirmation", ""))),
        ("reseller_reference", quote.reseller_reference),
        ("lines-TOTAL_FORMS", str(len(quote.lines))),
        ("lines-INITIAL_FORMS", "0"),
        ("lines-MIN_NUM_FORMS", "0"),
        ("lines-MAX_NUM_FORMS", str(MAX_LINES)),
    ]
    for i, line in enumerate(quote.lines):
        fields += [
            (f"lines-{i}-product", str(line.product.pk)),
            (f"lines-{i}-quantity", str(line.quantity)),
            (f"lines-{i}-unit_price", str(line.unit_price)),
        ]
    return fields


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
