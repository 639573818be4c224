"""The help module for resellers and end customers (SUP-6, VL-10, SVC-6, ALL-1, ALL-2).

``/support/`` serves customers (``support.views``), resellers (their organisation's requests about orders
and ordering) and end customers with a locker (their own requests about their keys). ``by_asker`` picks
the view from the request's tenancy. Every read is scoped: a reseller's by its organisation, an end
customer's by requester; another's id answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views import View

from accounts.tenancy import tenancy_of
from core.paging import pager_links
from orders.models import Order

from .intake_forms import ActivationRequestForm, AnswerForm, ResellerRequestForm
from .models import SupportRequest
from .selectors import public_conversation, request_page
from .selectors_intake import end_customer_request_get, end_customer_request_page
from .services.intake import end_customer_orders, end_customer_request_file, reseller_request_file
from .views import file_from_form, reply_from_form


def by_asker(
    customer_view: Callable[..., HttpResponseBase], other_view: Callable[..., HttpResponseBase]
) -> Callable[..., HttpResponseBase]:
    """The customers' view for customers (and for anyone it refuses), the other for resellers and end
    customers."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            tenancy = tenancy_of(request)
            if tenancy.customer is None and (tenancy.reseller is not None or tenancy.uses_locker):
                return other_view(request, *args, **kwargs)
        return customer_view(request, *args, **kwargs)

    return view


class AskerMixin(LoginRequiredMixin):
    """``self.reseller`` for a reseller's member, else None for an end customer; 403 for anyone else."""

    reseller: Any

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        tenancy = tenancy_of(request)
        if tenancy.reseller is None and not tenancy.uses_locker:
            raise PermissionDenied
        self.reseller = tenancy.reseller
        return super().dispatch(request, *args, **kwargs)

    def orders(self, request: HttpRequest) -> list[Order]:
        if self.reseller is not None:
            return list(Order.objects.for_org(self.reseller).order_by("-created_at", "-pk")[:50])
        return list(end_customer_orders(request.user)[:50])

    def load(self, request: HttpRequest, pk: int) -> SupportRequest:
        try:
            if self.reseller is not None:
                return SupportRequest.objects.for_org(self.reseller).select_related("order").get(pk=pk)
            return end_customer_request_get(user=request.user, request_id=pk)
        except SupportRequest.DoesNotExist:
            raise Http404 from None


class IntakeListView(AskerMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        before, after = request.GET.get("before"), request.GET.get("after")
        if self.reseller is not None:
            page = request_page(organisation=self.reseller, before=before, after=after)
            organisation: Any = self.reseller
        else:
            page = end_customer_request_page(user=request.user, before=before, after=after)
            organisation = {"name": getattr(request.user, "email", "")}
        context = {
            "organisation": organisation,
            "requests": page.rows,
            **pager_links(page.newer, page.older),
        }
        return render(request, "support/list.html", context)


class IntakeNewView(AskerMixin, View):
    template = "support/intake_new.html"

    def form(self, request: HttpRequest, data: Any = None) -> Any:
        orders = self.orders(request)
        if self.reseller is not None:
            return ResellerRequestForm(data, orders=orders)
        return ActivationRequestForm(data, orders=orders)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template, {"form": self.form(request), "reseller": self.reseller})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            file: Callable[..., SupportRequest]
            if self.reseller is not None:  # a reseller asks for its organisation, of a kind it chooses
                file = partial(
                    reseller_request_file, reseller=self.reseller, requester=request.user, kind=data["kind"]
                )
            else:  # an end customer asks about the activation of a key of its own
                file = partial(end_customer_request_file, user=request.user)
            answer = file_from_form(
                request,
                form,
                lambda: file(order_id=data["order"], subject=data["subject"], body=data["body"]),
            )
            if answer is not None:
                return answer
        return render(request, self.template, {"form": form, "reseller": self.reseller})


class IntakeDetailView(AskerMixin, View):
    template = "support/intake_detail.html"

    def render_page(self, request: HttpRequest, req: SupportRequest, form: AnswerForm) -> HttpResponse:
        context = {"req": req, "conversation": public_conversation(req), "form": form}
        return render(request, self.template, context)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request, self.load(request, pk), AnswerForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        req = self.load(request, pk)
        form = AnswerForm(request.POST)
        if form.is_valid():
            answer = reply_from_form(request, form, organisation=req.organisation, support_request=req)
            if answer is not None:
                return answer
        return self.render_page(request, req, form)
