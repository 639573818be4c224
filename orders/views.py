from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from accounts.tenancy import ResellerRequiredMixin
from core.csv_export import csv_response
from core.dates import DateFormatter
from core.errors import add_to_form, flash
from core.paging import pager_links
from core.rows import render_rows
from core.search import search_text

from .forms import (
    BaseLineFormSet,
    CorrectEmailForm,
    OrderForm,
    confirmation_fields,
    line_formset,
    order_form_again,
)
from .invoice_pdf import invoice_pdf
from .models import Invoice, Order
from .selectors import (
    ATTENTION,
    OrderFilter,
    ProductChoice,
    invoice_for_order,
    invoice_page,
    order_actions,
    order_detail,
    order_export_rows,
    order_page,
    order_totals,
    orderable_products,
)
from .services import (
    OrderError,
    order_cancel,
    order_correct_email,
    order_place,
    order_quote,
    welcome_mail_resend,
)


def order_rows(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each row of jinja/orders/_order_table.html shows, worked out once per page rather than per
    row in the template (bench/README.md, "Figures behind the code"): the labels of the statuses, the date
    as ``|date:"SHORT_DATETIME_FORMAT"`` writes it (``core.dates.DateFormatter``) and the detail address."""
    status_labels = {value: str(label) for value, label in Order.Status.choices}
    mail_labels = {value: str(label) for value, label in Order.MailStatus.choices}
    placed = DateFormatter("SHORT_DATETIME_FORMAT")
    detail_url = reverse("orders:list")  # an order's page is /orders/<id>/ (orders/urls.py)
    return [
        {
            **order,
            "url": f"{detail_url}{order['id']}/",
            "placed": placed(order["created_at"]),
            "products": _products_label(order["first_product_name"], order["line_count"]),
            "status_label": status_labels.get(order["status"], order["status"]),
            "mail_label": mail_labels.get(order["welcome_mail_status"], order["welcome_mail_status"]),
        }
        for order in orders
    ]


def order_table(orders: list[dict[str, Any]], *, caption: str) -> SafeString:
    """The table of these orders (rows of ``order_page``), for the order list and the reseller's home page:
    jinja/orders/_order_table.html (``core.rows``), its column labels translated here once."""
    labels = {
        "order": _("Order"),
        "reference": _("Your reference"),
        "placed": _("Placed"),
        "customer": _("End customer"),
        "products": _("Products"),
        "units": _("Units"),
        "status": _("Status"),
        "mail": _("Welcome mail"),
        "opened": _("Keys opened"),
        "yes": _("Yes"),
        "not_yet": _("Not yet"),
    }
    context = {"rows": order_rows(orders), "labels": labels, "caption": caption}
    return render_rows("orders/_order_table.html", context)


def order_filter(request: HttpRequest) -> OrderFilter:
    """The list's filter as the query string gives it; what does not read is ignored (ALL-2)."""
    status = request.GET.get("status", "")
    attention = request.GET.get("attention", "")
    return OrderFilter(
        status=status if status in Order.Status.values else "",
        attention=attention if attention in ATTENTION else "",
        search=search_text(request.GET.get("q"), limit=200),
        unopened_days=settings.DASHBOARD_UNOPENED_DAYS,
    )


def _products_label(first: str | None, lines: int | None) -> str:
    """The product column: the first line's product, and how many more lines there are."""
    if not first:
        return ""
    more = (lines or 1) - 1
    return f"{first} (+{more})" if more else first


class OrderListView(ResellerRequiredMixin, View):
    """The reseller's orders, 25 a page, newest first, by status or what needs attention, searchable by
    number, day or address; "Newer" and "Older" page through; the same filter downloads as CSV."""

    paginate_by = 25

    def get(self, request: HttpRequest) -> HttpResponse:
        find = order_filter(request)
        before, after = request.GET.get("before"), request.GET.get("after")
        page = order_page(
            organisation=self.organisation, find=find, before=before, after=after, size=self.paginate_by
        )
        context = {
            "orders": page.orders,
            "order_table": order_table(page.orders, caption=_("ESD orders")) if page.orders else "",
            "statuses": Order.Status.choices,
            "current_status": find.status,
            "attention": find.attention,
            "search": find.search,
            "filtered": bool(find.query),
            "list_url": reverse("orders:list"),
            "export_url": reverse("orders:export") + (f"?{find.query}" if find.query else ""),
            **pager_links(page.newer, page.older, find.query),
            "paged": bool(before or after),
        }
        return render(request, "orders/order_list.html", context)


class OrderExportView(ResellerRequiredMixin, View):
    """Every order the list shows for the same filter, as a CSV file (formula-safe, streamed)."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        header = [
            _("Order"),
            _("Placed"),
            _("End customer"),
            _("Products"),
            _("Units"),
            _("Status"),
            _("Welcome mail"),
            _("Keys first opened"),
        ]
        rows = order_export_rows(organisation=self.organisation, find=order_filter(request))
        return csv_response(f"orders-{timezone.localdate().isoformat()}.csv", header, rows)


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
            "actions": order_actions(order),
            "totals": order_totals(order),
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
        return {"order": order, "form": form, "actions": order_actions(order)}


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
    """A new order in two steps, because ESD products cannot be returned (ESD-10): the form posts to a
    review of what placing would record (``order_quote``: prices, totals, stock); "Place order" there sends
    it all back with ``confirmed``, and it is checked again and placed at the prices shown, or shown for
    review again if a price changed meanwhile. "Change" and "Add another product" (without the script)
    show the form again with everything typed."""

    template = "orders/order_form.html"
    confirm_template = "orders/order_confirm.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        products = orderable_products()
        return self._form(request, OrderForm(), line_formset(products=products), products)

    def post(self, request: HttpRequest) -> HttpResponse:
        products = orderable_products()
        if "add_line" in request.POST or "change" in request.POST:
            adding = "add_line" in request.POST
            form, formset = order_form_again(request.POST, products=products, add_line=adding)
            return self._form(request, form, formset, products)
        form = OrderForm(request.POST)
        formset = line_formset(request.POST, products=products)
        if not (form.is_valid() and formset.is_valid()):
            return self._form(request, form, formset, products)
        lines = formset.lines()
        order_in = {
            "reseller": self.organisation,
            "end_customer_email": form.cleaned_data["end_customer_email"],
            "reseller_reference": form.cleaned_data["reseller_reference"],
            "lines": lines,
        }
        notice = ""
        if "place" in request.POST and request.POST.get("confirmed") == "1":
            if all(line.unit_price is not None for line in lines):
                try:
                    order = order_place(placed_by=request.user, **order_in)
                except OrderError as exc:
                    if exc.code != "price_changed":
                        add_to_form(form, exc)
                        return self._form(request, form, formset, products)
                    notice = exc.message
                else:
                    messages.success(
                        request, _("Order #%(id)s placed. Keys are delivered in minutes.") % {"id": order.pk}
                    )
                    return redirect("orders:detail", pk=order.pk)
            else:
                notice = _("Check the order and confirm it again.")
        try:
            quote = order_quote(**order_in)
        except OrderError as exc:
            add_to_form(form, exc)
            return self._form(request, form, formset, products)
        context = {
            "quote": quote,
            "notice": notice,
            "hidden_fields": confirmation_fields(quote, request.POST),
        }
        return render(request, self.confirm_template, context)

    def _form(
        self, request: HttpRequest, form: OrderForm, formset: BaseLineFormSet, products: list[ProductChoice]
    ) -> HttpResponse:
        context = {
            "form": form,
            "formset": formset,
            # For the running total in the browser (static/js/portal.js): prices, never stock.
            "prices": {str(product.pk): str(product.unit_price) for product in products},
            "vat_percent": str(settings.INVOICE_VAT_PERCENT),
            "currency": settings.INVOICE_CURRENCY,
            "decimal_separator": get_format("DECIMAL_SEPARATOR"),
            "thousand_separator": get_format("THOUSAND_SEPARATOR"),
        }
        return render(request, self.template, context)


class InvoiceListView(ResellerRequiredMixin, View):
    """The organisation's invoices, 25 a page, newest first; "Newer" and "Older" page through (ALL-1)."""

    paginate_by = 25

    def get(self, request: HttpRequest) -> HttpResponse:
        before, after = request.GET.get("before"), request.GET.get("after")
        page = invoice_page(organisation=self.organisation, before=before, after=after, size=self.paginate_by)
        context = {
            "invoices": page.invoices,
            "list_url": reverse("orders:invoices"),
            **pager_links(page.newer, page.older),
            "paged": bool(before or after),
        }
        return render(request, "orders/invoice_list.html", context)
