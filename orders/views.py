from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from accounts.tenancy import ResellerRequiredMixin

from .forms import LineFormSet, OrderForm
from .models import Order
from .selectors import order_detail, order_list
from .services import LineIn, OrderError, order_place


class OrderListView(ResellerRequiredMixin, ListView):
    template_name = "orders/order_list.html"
    context_object_name = "orders"
    paginate_by = 25

    def get_queryset(self) -> Any:
        return order_list(organisation=self.organisation, status=self.request.GET.get("status"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["statuses"] = Order.Status.choices
        ctx["current_status"] = self.request.GET.get("status", "")
        return ctx


class OrderDetailView(ResellerRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            order = order_detail(organisation=self.organisation, order_id=pk)
        except Order.DoesNotExist:
            raise Http404 from None
        in_progress = order.status in (Order.Status.PLACED, Order.Status.AWAITING_STOCK) or (
            order.welcome_mail_status == Order.MailStatus.QUEUED
        )
        return render(request, "orders/order_detail.html", {"order": order, "in_progress": in_progress})


class OrderCreateView(ResellerRequiredMixin, View):
    template = "orders/order_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template, {"form": OrderForm(), "formset": LineFormSet(prefix="lines")})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OrderForm(request.POST)
        formset = LineFormSet(request.POST, prefix="lines")
        if form.is_valid() and formset.is_valid():
            lines = [
                LineIn(product_id=f.cleaned_data["product"].pk, quantity=f.cleaned_data["quantity"])
                for f in formset.forms
                if f.has_changed() and f.cleaned_data.get("product")
            ]
            try:
                order = order_place(
                    reseller=self.organisation,
                    placed_by=request.user,
                    end_customer_email=form.cleaned_data["end_customer_email"],
                    lines=lines,
                )
            except OrderError as exc:
                if exc.field in form.fields:
                    form.add_error(exc.field, exc.message)
                else:
                    form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("Order #%(id)s placed. Keys are delivered in minutes.") % {"id": order.pk}
                )
                return redirect("orders:detail", pk=order.pk)
        return render(request, self.template, {"form": form, "formset": formset}, status=200)
