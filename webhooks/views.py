"""Settings → Webhooks: endpoints, their signing secret (shown once), deliveries with answers, redelivery."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.tenancy import ResellerAdminRequiredMixin
from core.errors import add_to_form, flash

from .models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import WebhookError, endpoint_create, endpoint_set_active, redeliver


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("Endpoint URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com/hooks/portal"}),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        initial=[code for code, _label in EVENT_TYPES],
    )


class EndpointListView(ResellerAdminRequiredMixin, View):
    template = "webhooks/endpoints.html"

    def _render(self, request: HttpRequest, form: EndpointForm, secret: str | None = None) -> HttpResponse:
        endpoints = WebhookEndpoint.objects.for_org(self.organisation).defer(
            "secret_ciphertext", "secret_wrapped_key"
        )
        response = render(request, self.template, {"endpoints": endpoints, "form": form, "secret": secret})
        if secret:
            response["Cache-Control"] = "no-store, private"
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, EndpointForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                _endpoint, secret = endpoint_create(
                    organisation=self.organisation,
                    user=request.user,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                )
            except WebhookError as exc:
                add_to_form(form, exc)
            else:
                return self._render(request, EndpointForm(), secret=secret)
        return self._render(request, form)


class EndpointDetailView(ResellerAdminRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = WebhookEndpoint.objects.for_org(self.organisation).filter(pk=pk).first()
        if endpoint is None:
            raise Http404
        deliveries = (
            WebhookDelivery.objects.filter(endpoint=endpoint)
            .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at")))
            .order_by("-created_at")[:100]
        )
        context = {
            "endpoint": endpoint,
            "deliveries": deliveries,
            "retry_hours": f"{settings.WEBHOOK_RETRY_HOURS:g}",
        }
        return render(request, "webhooks/endpoint_detail.html", context)


class EndpointToggleView(ResellerAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            endpoint = endpoint_set_active(
                organisation=self.organisation, endpoint_id=pk, active=request.POST.get("active") == "1"
            )
        except WebhookEndpoint.DoesNotExist:
            raise Http404 from None
        messages.success(request, _("Endpoint enabled.") if endpoint.active else _("Endpoint disabled."))
        return redirect("webhooks:detail", pk=pk)


class RedeliverView(ResellerAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: str) -> HttpResponse:
        try:
            copy = redeliver(organisation=self.organisation, delivery_id=pk)
        except (WebhookDelivery.DoesNotExist, ValueError):
            raise Http404 from None
        except WebhookError as exc:
            flash(request, exc)
            endpoint_id = (
                WebhookDelivery.objects.for_org(self.organisation)
                .values_list("endpoint_id", flat=True)
                .get(pk=pk)
            )
            return redirect("webhooks:detail", pk=endpoint_id)
        messages.success(request, _("The event is being delivered again."))
        return redirect("webhooks:detail", pk=copy.endpoint_id)
