"""The address pages (CC-4, SVC-4, ALL-1, ALL-2): every active member of a customer sees its addresses and
their history; people with the *user management* right add, change and remove them (403 for anyone else,
as for the other rights). Another organisation's address id answers 404, as a missing one does."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from core.errors import add_to_form, flash

from .address_forms import AddressForm, initial_of
from .countries import country_name
from .errors import CentreError
from .models import Address
from .selectors import address_history, address_list, address_of_kind, site_get
from .services.addresses import address_set, site_add, site_remove, site_update
from .views import USER_MANAGEMENT, CustomerRequiredMixin, UserManagementRequiredMixin


class AddressesView(CustomerRequiredMixin, View):
    """Billing, delivery and sites, each with its last change; the latest changes below."""

    def get(self, request: HttpRequest) -> HttpResponse:
        addresses = address_list(organisation=self.organisation)
        context = {
            "organisation": self.organisation,
            "billing": next((a for a in addresses if a.kind == Address.Kind.BILLING), None),
            "delivery": next((a for a in addresses if a.kind == Address.Kind.DELIVERY), None),
            "sites": [a for a in addresses if a.kind == Address.Kind.SITE],
            "history": _history_rows(address_history(organisation=self.organisation)),
            "can_edit": self.tenancy.has_right(USER_MANAGEMENT),
        }
        return render(request, "centre/addresses.html", context)


class _AddressFormView(UserManagementRequiredMixin, View):
    template = "centre/address_form.html"
    kind = Address.Kind.SITE

    def title(self) -> str:
        raise NotImplementedError

    def current(self, **kwargs: Any) -> Address | None:
        return None

    def initial(self, address: Address | None) -> dict[str, str]:
        return initial_of(address)

    def save(self, request: HttpRequest, form: AddressForm, address: Address | None) -> Address:
        raise NotImplementedError

    def _render(self, request: HttpRequest, form: AddressForm, address: Address | None) -> HttpResponse:
        context = {"organisation": self.organisation, "form": form, "address": address, "title": self.title()}
        return render(request, self.template, context)

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        address = self.current(**kwargs)
        return self._render(request, AddressForm(kind=self.kind, initial=self.initial(address)), address)

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        address = self.current(**kwargs)
        form = AddressForm(request.POST, kind=self.kind)
        if form.is_valid():
            try:
                self.save(request, form, address)
            except CentreError as error:
                if error.code == "not_found":
                    raise Http404 from None
                add_to_form(form, error)
            else:
                messages.success(request, _("The address was saved."))
                return redirect("centre:addresses")
        return self._render(request, form, address)


class BillingAddressView(_AddressFormView):
    kind = Address.Kind.BILLING

    def title(self) -> str:
        return _("Billing address")

    def current(self, **kwargs: Any) -> Address | None:
        return address_of_kind(organisation=self.organisation, kind=self.kind)

    def initial(self, address: Address | None) -> dict[str, str]:
        return initial_of(address, self.organisation)

    def save(self, request: HttpRequest, form: AddressForm, address: Address | None) -> Address:
        return address_set(
            organisation=self.organisation, actor=request.user, kind=self.kind, data=form.address_in()
        )


class DeliveryAddressView(BillingAddressView):
    kind = Address.Kind.DELIVERY

    def title(self) -> str:
        return _("Delivery address")

    def initial(self, address: Address | None) -> dict[str, str]:
        if address is not None:
            return initial_of(address)
        billing = address_of_kind(organisation=self.organisation, kind=Address.Kind.BILLING)
        return initial_of(billing, self.organisation)


class SiteAddView(_AddressFormView):
    def title(self) -> str:
        return _("New site")

    def save(self, request: HttpRequest, form: AddressForm, address: Address | None) -> Address:
        return site_add(organisation=self.organisation, actor=request.user, data=form.address_in())


class SiteEditView(_AddressFormView):
    def title(self) -> str:
        return _("Site")

    def current(self, **kwargs: Any) -> Address | None:
        try:
            return site_get(organisation=self.organisation, address_id=kwargs["pk"])
        except Address.DoesNotExist:
            raise Http404 from None

    def save(self, request: HttpRequest, form: AddressForm, address: Address | None) -> Address:
        assert address is not None
        return site_update(
            organisation=self.organisation, actor=request.user, address_id=address.pk, data=form.address_in()
        )


class SiteRemoveView(UserManagementRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            address = site_remove(organisation=self.organisation, actor=request.user, address_id=pk)
        except CentreError as error:
            if error.code == "not_found":
                raise Http404 from None
            flash(request, error)  # e.g. the right to manage was taken away since the page was shown
            return redirect("centre:addresses")
        messages.success(request, _("The site “%(label)s” was removed.") % {"label": address.label})
        return redirect("centre:addresses")


def _history_rows(events: list[Any]) -> list[dict[str, Any]]:
    """Each change with the fields it changed, named for people: (field, before, after)."""
    labels = {name: getattr(Address._meta.get_field(name), "verbose_name", name) for name in Address.TRACKED}
    rows = []
    for event in events:
        before = (event.data or {}).get("before") or {}
        after = (event.data or {}).get("after") or {}
        changes = []
        for name in Address.TRACKED:
            old, new = before.get(name, ""), after.get(name, "")
            if old != new:
                if name == "country_code":
                    old, new = country_name(old) or old, country_name(new) or new
                changes.append({"field": labels[name], "before": old, "after": new})
        rows.append({"event": event, "changes": changes})
    return rows
