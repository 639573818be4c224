from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View
from django.views.generic import ListView

from accounts.tenancy import ResellerRequiredMixin

from .forms import CorrectEmailForm, LineFormSet, OrderForm
from .invoices import invoice_pdf
from .models import Invoice, Order
from .selectors import invoice_for_order, order_detail, order_list
from .services import (
    LineIn,
    OrderError,
    correction_refusal,
    order_cancel,
    order_correct_email,
    order_place,
    welcome_mail_resend,
)


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
        # Labels translated once per page, not once per row: the list is the page resellers load most.
        status_labels = {value: str(label) for value, label in Order.Status.choices}
        mail_labels = {value: str(label) for value, label in Order.MailStatus.choices}
        for order in ctx["orders"]:
            order.status_label = status_labels[order.status]
            order.mail_label = mail_labels[order.welcome_mail_status]
        ctx.update(detail_prefix=reverse("orders:list"), yes_label=_("Yes"), not_yet_label=_("Not yet"))
        return ctx


def _detail(organisation: Any, pk: int) -> Order:
    try:
        return order_detail(organisation=organisation, order_id=pk)
    except Order.DoesNotExist:
        raise Http404 from None


class OrderDetailView(ResellerRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = _detail(self.organisation, pk)
        in_progress = (
            order.status == Order.Status.PLACED or order.welcome_mail_status == Order.MailStatus.QUEUED
        )
        context = {
            "order": order,
            "in_progress": in_progress,
            "correction_refusal": correction_refusal(order),
            "invoice": getattr(order, "invoice", None),
        }
        return render(request, "orders/order_detail.html", context)


class OrderActionView(ResellerRequiredMixin, View):
    """A POST-only action on one order: one service call, its refusal shown as a message."""

    http_method_names = ["post"]
    success_message: Any = ""

    def act(self, pk: int) -> Any:
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            self.act(pk)
        except Order.DoesNotExist:
            raise Http404 from None
        except OrderError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, self.success_message)
        return redirect("orders:detail", pk=pk)


class OrderCancelView(OrderActionView):
    success_message = _lazy("The order was cancelled.")

    def act(self, pk: int) -> Any:
        return order_cancel(organisation=self.organisation, order_id=pk, actor=self.request.user)


class WelcomeMailResendView(OrderActionView):
    success_message = _lazy(
        "The welcome mail is on its way again, with a fresh link. Earlier links no longer work."
    )

    def act(self, pk: int) -> Any:
        return welcome_mail_resend(organisation=self.organisation, order_id=pk, actor=self.request.user)


class CorrectEmailView(ResellerRequiredMixin, View):
    """ESD-14: correct a wrong end-customer address while nobody has used the mail sent to it."""

    template = "orders/correct_email.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = _detail(self.organisation, pk)
        return render(
            request,
            self.template,
            {"order": order, "form": CorrectEmailForm(), "refusal": correction_refusal(order)},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = _detail(self.organisation, pk)
        form = CorrectEmailForm(request.POST)
        if form.is_valid():
            try:
                order_correct_email(
                    organisation=self.organisation,
                    order_id=pk,
                    actor=request.user,
                    new_email=form.cleaned_data["new_email"],
                )
            except OrderError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "The address was corrected and the keys moved to the new address's locker. "
                        "No e-mail was sent: ask the customer to use “Forgot password” with the new "
                        "address, or resend the welcome mail."
                    ),
                )
                return redirect("orders:detail", pk=pk)
        return render(
            request, self.template, {"order": order, "form": form, "refusal": correction_refusal(order)}
        )


class InvoicePdfView(ResellerRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            invoice = invoice_for_order(organisation=self.organisation, order_id=pk)
        except Invoice.DoesNotExist:
            raise Http404 from None
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        filename = invoice.number.replace("/", "-")
        response["Content-Disposition"] = f'attachment; filename="invoice-{filename}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


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
