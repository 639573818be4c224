"""The reseller REST API, /api/v1/ (ESD-2, 7, 10, 12, 14; ALL-1, 2). Views only translate: services decide."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Product
from orders.invoice_pdf import invoice_pdf
from orders.models import Invoice, Order
from orders.selectors import order_detail, order_list
from orders.services import LineIn, order_cancel, order_correct_email, order_place, welcome_mail_resend

from . import serializers as s
from .base import CursorPagination, ResellerAPIView, idempotent
from .errors import ApiProblem

PROBLEM = OpenApiResponse(response=s.ProblemSerializer, description="RFC 9457 problem details")
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID). Repeating a POST with the same key and body replays the first "
    "response instead of acting twice; the same key with another body answers 422.",
)
ERRORS = {
    (code, "application/problem+json"): PROBLEM for code in (400, 401, 403, 404, 406, 409, 415, 422, 429, 500)
}


class Pagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")


class ProductPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("sku",)


class ProductFilter(serializers.Serializer):
    vendor = serializers.CharField(required=False, max_length=100)
    family = serializers.CharField(required=False, max_length=100)
    platform = serializers.CharField(required=False, max_length=50)
    q = serializers.CharField(required=False, max_length=100, help_text="Search in SKU and name.")


class ProductListView(ResellerAPIView):
    @extend_schema(
        operation_id="products_list",
        parameters=[ProductFilter],
        responses={200: s.ProductPageSerializer, **ERRORS},
        summary="ESD-orderable products",
    )
    def get(self, request: Request) -> Response:
        f = ProductFilter(data=request.query_params)
        f.is_valid(raise_exception=True)
        qs: QuerySet[Product] = Product.objects.esd_orderable()
        for name in ("vendor", "family", "platform"):
            if f.validated_data.get(name):
                qs = qs.filter(**{f"{name}__iexact": f.validated_data[name]})
        if f.validated_data.get("q"):
            term = f.validated_data["q"]
            qs = qs.filter(Q(sku__icontains=term) | Q(name__icontains=term))
        paginator = ProductPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ProductSerializer(page, many=True).data)


class OrderFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    email = serializers.EmailField(required=False, max_length=254, help_text="End customer's address.")


class OrderDetailMixin:
    organisation: Any

    def _detail(self, request: Request, order_id: int, code: int = 200) -> Response:
        try:
            order = order_detail(organisation=self.organisation, order_id=order_id)
        except Order.DoesNotExist:
            raise ApiProblem(404, "not_found", _("No such order.")) from None
        return Response(s.OrderDetailSerializer(order, context={"request": request}).data, status=code)


class OrderListView(OrderDetailMixin, ResellerAPIView):
    @extend_schema(
        operation_id="orders_list",
        parameters=[OrderFilter],
        responses={200: s.OrderPageSerializer, **ERRORS},
        summary="The organisation's orders, newest first",
    )
    def get(self, request: Request) -> Response:
        f = OrderFilter(data=request.query_params)
        f.is_valid(raise_exception=True)
        data = f.validated_data
        qs = order_list(organisation=self.organisation, status=data.get("status"))
        if data.get("created_after"):
            qs = qs.filter(created_at__gte=data["created_after"])
        if data.get("created_before"):
            qs = qs.filter(created_at__lt=data["created_before"])
        if data.get("email"):
            qs = qs.filter(end_customer_email=data["email"].strip().lower())
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            s.OrderSummarySerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="orders_create",
        request=s.OrderCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.OrderDetailSerializer, **ERRORS},
        summary="Place an ESD order",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = s.OrderCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lines_in = body.validated_data["lines"]
        skus = {line["sku"] for line in lines_in}
        products = {p.sku: p.pk for p in Product.objects.esd_orderable().filter(sku__in=skus)}
        errors = [
            {
                "field": f"lines[{i}].sku",
                "message": _("No ESD-orderable product with this SKU."),
                "code": "product_not_orderable",
            }
            for i, line in enumerate(lines_in)
            if line["sku"] not in products
        ]
        if errors:
            raise ApiProblem(
                422, "product_not_orderable", _("Only ESD-eligible products can be ordered."), errors
            )
        order = order_place(
            reseller=self.organisation,
            placed_by=request.user,
            end_customer_email=body.validated_data["end_customer_email"],
            reseller_reference=body.validated_data["reseller_reference"],
            lines=[LineIn(product_id=products[line["sku"]], quantity=line["quantity"]) for line in lines_in],
        )
        return self._detail(request, order.pk, status.HTTP_201_CREATED)


class OrderDetailView(OrderDetailMixin, ResellerAPIView):
    @extend_schema(
        operation_id="orders_retrieve",
        responses={200: s.OrderDetailSerializer, **ERRORS},
        summary="One order: lines, delivery tracker, invoice; never a key",
    )
    def get(self, request: Request, pk: int) -> Response:
        return self._detail(request, pk)


class OrderActionView(OrderDetailMixin, ResellerAPIView):
    def act(self, request: Request, pk: int) -> Any:
        raise NotImplementedError

    def run(self, request: Request, pk: int) -> Response:
        try:
            self.act(request, pk)
        except Order.DoesNotExist:
            raise ApiProblem(404, "not_found", _("No such order.")) from None
        return self._detail(request, pk)


class OrderCancelView(OrderActionView):
    @extend_schema(
        operation_id="orders_cancel",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.OrderDetailSerializer, **ERRORS},
        summary="Cancel an order still awaiting stock (ESD-10)",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return self.run(request, pk)

    def act(self, request: Request, pk: int) -> Any:
        return order_cancel(organisation=self.organisation, order_id=pk, actor=request.user)


class OrderCorrectEmailView(OrderActionView):
    @extend_schema(
        operation_id="orders_correct_email",
        request=s.CorrectEmailSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.OrderDetailSerializer, 202: s.OrderDetailSerializer, **ERRORS},
        summary="Correct a wrong end-customer address while nobody used the mail (ESD-14)",
        description=(
            "200: corrected, the keys are in the new address's locker. 202: the welcome mail had "
            "already been delivered, so the correction waits for the distributor's review "
            "(`pending_correction`); links sent to the old address no longer work and the keys move once "
            "approved. Either way the old address is told, with the new one masked."
        ),
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        try:
            correction = self.act(request, pk)
        except Order.DoesNotExist:
            raise ApiProblem(404, "not_found", _("No such order.")) from None
        pending = correction.status == correction.Status.PENDING_REVIEW
        return self._detail(request, pk, status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)

    def act(self, request: Request, pk: int) -> Any:
        body = s.CorrectEmailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return order_correct_email(
            organisation=self.organisation,
            order_id=pk,
            actor=request.user,
            new_email=body.validated_data["new_email"],
        )


class OrderResendWelcomeView(OrderActionView):
    @extend_schema(
        operation_id="orders_resend_welcome_mail",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.OrderDetailSerializer, **ERRORS},
        summary="Send the welcome mail again with a fresh link (ESD-12)",
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        return self.run(request, pk)

    def act(self, request: Request, pk: int) -> Any:
        return welcome_mail_resend(organisation=self.organisation, order_id=pk, actor=request.user)


class InvoiceListView(ResellerAPIView):
    def _queryset(self) -> QuerySet[Invoice]:
        return Invoice.objects.for_org(self.organisation).select_related("order").prefetch_related("lines")

    @extend_schema(
        operation_id="invoices_list",
        responses={200: s.InvoicePageSerializer, **ERRORS},
        summary="The organisation's invoices, newest first",
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        paginator.ordering = ("-issued_at", "-id")
        page = paginator.paginate_queryset(self._queryset(), request, view=self)
        return paginator.get_paginated_response(
            s.InvoiceSerializer(page, many=True, context={"request": request}).data
        )


class InvoiceDetailView(InvoiceListView):
    @extend_schema(operation_id="invoices_retrieve", responses={200: s.InvoiceSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:  # type: ignore[override]
        invoice = self._queryset().filter(pk=pk).first()
        if invoice is None:
            raise ApiProblem(404, "not_found", _("No such invoice."))
        return Response(s.InvoiceSerializer(invoice, context={"request": request}).data)


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data


class InvoicePdfView(InvoiceListView):
    renderer_classes = [PdfRenderer, JSONRenderer]

    @extend_schema(
        operation_id="invoices_pdf", responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS}
    )
    def get(self, request: Request, pk: int) -> HttpResponse:  # type: ignore[override]
        invoice = self._queryset().filter(pk=pk).first()
        if invoice is None:
            raise ApiProblem(404, "not_found", _("No such invoice."))
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="invoice-{invoice.number.replace("/", "-")}.pdf"'
        )
        return response


@csrf_exempt
def not_found(request: Any, *args: Any, **kwargs: Any) -> Response:
    """Any other path under /api/v1/: a problem, not an HTML page."""

    body = {
        "type": "urn:reseller-portal:problem:not_found",
        "title": _("Not found."),
        "status": 404,
        "detail": _("No such API resource."),
        "code": "not_found",
    }
    return JsonResponse(body, status=404, content_type="application/problem+json")  # type: ignore[return-value]
