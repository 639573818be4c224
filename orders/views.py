from __future__ import annotations

import html
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from accounts.tenancy import ResellerRequiredMixin
from core.dates import DateFormatter
from core.errors import add_to_form, flash

from .forms import CorrectEmailForm, LineFormSet, OrderForm
from .invoices import invoice_pdf
from .models import Invoice, Order
from .selectors import invoice_for_order, order_detail, order_page
from .services import (
    LineIn,
    OrderError,
    correction_refusal,
    order_cancel,
    order_correct_email,
    order_place,
    pending_correction,
    welcome_mail_resend,
)

# One row of the order list. The rows are put together here rather than in a template loop: 25 rows of
# a dozen template variables each cost more than the rest of the page. Every value from the database is
# escaped (html.escape, as Django's escape does); labels are translated and escaped once per page.
_ORDER_ROW = (
    '<tr><td><a href="{prefix}{id}/">#{id}</a></td><td>{placed}</td><td>{email}</td>'
    '<td class="num">{units}</td><td><span class="badge badge--{status}">{status_label}</span></td>'
    '<td><span class="badge badge--{mail}">{mail_label}</span></td><td>{opened}</td></tr>\n'
)


def _order_rows(orders: list[dict[str, Any]]) -> SafeString:
    e = html.escape
    prefix = e(reverse("orders:list"))
    status_labels = {value: (e(value), e(str(label))) for value, label in Order.Status.choices}
    mail_labels = {value: (e(value), e(str(label))) for value, label in Order.MailStatus.choices}
    opened = {
        True: f'<span class="badge badge--yes">{e(_("Yes"))}</span>',
        False: f'<span class="badge">{e(_("Not yet"))}</span>',
    }
    placed = DateFormatter("SHORT_DATETIME_FORMAT")
    rows = []
    for order in orders:
        status, status_label = status_labels[order["status"]]
        mail, mail_label = mail_labels[order["welcome_mail_status"]]
        rows.append(
            _ORDER_ROW.format(
                prefix=prefix,
                id=int(order["id"]),
                placed=e(placed(order["created_at"])),
                email=e(order["end_customer_email"]),
                units=int(order["units"] or 0),
                status=status,
                status_label=status_label,
                mail=mail,
                mail_label=mail_label,
                opened=opened[bool(order["keys_accessed"])],
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 (every value above is escaped)


class OrderListView(ResellerRequiredMixin, View):
    """The reseller's orders, 25 a page, newest first, by status; "Newer" and "Older" page through."""

    paginate_by = 25

    def get(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status", "")
        if status not in Order.Status.values:
            status = ""
        before, after = request.GET.get("before"), request.GET.get("after")
        page = order_page(
            organisation=self.organisation, status=status, before=before, after=after, size=self.paginate_by
        )
        filter_query = f"status={status}&" if status else ""
        context = {
            "rows": _order_rows(page.orders),
            "statuses": Order.Status.choices,
            "current_status": status,
            "list_url": reverse("orders:list"),
            "newer_url": f"?{filter_query}after={page.newer}" if page.newer else "",
            "older_url": f"?{filter_query}before={page.older}" if page.older else "",
            "paged": bool(before or after),
        }
        return render(request, "orders/order_list.html", context)


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
            "pending_correction": pending_correction(order),
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
            flash(request, exc)
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
        return render(request, self.template, self._context(order, CorrectEmailForm()))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = _detail(self.organisation, pk)
        form = CorrectEmailForm(request.POST)
        if form.is_valid():
            try:
                correction = order_correct_email(
                    organisation=self.organisation,
                    order_id=pk,
                    actor=request.user,
                    new_email=form.cleaned_data["new_email"],
                )
            except OrderError as exc:
                add_to_form(form, exc)
            else:
                if correction.status == correction.Status.PENDING_REVIEW:
                    messages.success(
                        request,
                        _(
                            "The correction waits for the distributor's review, because the welcome mail had "
                            "already been delivered. Links sent to the old address no longer work; the keys "
                            "move once the distributor approves. The old address has been told."
                        ),
                    )
                else:
                    messages.success(
                        request,
                        _(
                            "The address was corrected and the keys moved to the new address's locker. "
                            "No e-mail was sent to the new address: ask the customer to use “Forgot "
                            "password” with it, or resend the welcome mail. The old address has been told."
                        ),
                    )
                return redirect("orders:detail", pk=pk)
        return render(request, self.template, self._context(order, form))

    @staticmethod
    def _context(order: Order, form: CorrectEmailForm) -> dict[str, Any]:
        return {
            "order": order,
            "form": form,
            "refusal": correction_refusal(order),
            "pending_correction": pending_correction(order),
        }


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
                add_to_form(form, exc)
            else:
                messages.success(
                    request, _("Order #%(id)s placed. Keys are delivered in minutes.") % {"id": order.pk}
                )
                return redirect("orders:detail", pk=order.pk)
        return render(request, self.template, {"form": form, "formset": formset}, status=200)
