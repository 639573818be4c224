from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from accounts.models import Organisation
from accounts.tenancy import reseller_of, tenancy_of, uses_locker
from orders.selectors import reseller_overview, staff_overview
from orders.views import order_table
from portal.celery import app


def home(request: HttpRequest) -> HttpResponse:
    """Each kind of user's start: for a reseller, what needs attention and the last orders; for staff, a
    pointer to the admin with today's alerts and low stock; for a member of a customer organisation, the
    customer centre (their locker stays at /locker/, ESD-7); for an end customer, the locker."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    reseller = reseller_of(request)
    if reseller is not None:
        overview = reseller_overview(organisation=reseller, unopened_days=settings.DASHBOARD_UNOPENED_DAYS)
        recent = order_table(overview.recent, caption=_("Last orders")) if overview.recent else ""
        context = {"overview": overview, "recent": recent}
        return render(request, "portal/home_reseller.html", context)
    if tenancy_of(request).customer is not None:
        return redirect("centre:home")
    if request.user.is_staff:
        return render(request, "portal/home_staff.html", {"overview": staff_overview()})
    if uses_locker(request):
        return redirect("locker:index")
    # A distributor member without staff access (a support agent before their desk exists): their account.
    return redirect("mfa_index")


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; the broker's state is reported, not required."""
    body: dict[str, str] = {}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception as exc:  # any driver error means "not healthy"
        body["database"] = f"error: {exc.__class__.__name__}"
        status = 503
    body["broker"] = _broker_state()
    return JsonResponse(body, status=status)


def _broker_state() -> str:
    if not settings.BROKER_CONFIGURED:
        return "none (tasks run in-process)"

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises several types for an unreachable broker
        return f"error: {exc.__class__.__name__}"


def bench_minimal(request: HttpRequest) -> HttpResponse:
    """The yardstick of the page benchmarks: one query, one small template (served only with BENCH_VIEWS)."""

    organisation = Organisation.objects.order_by("pk").first()
    return render(request, "portal/bench_minimal.html", {"organisation": organisation})


def no_email_management(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """allauth's e-mail pages (``account_email``, ``account_email_verification_sent``,
    ``account_confirm_email``) answer 404: nobody adds, confirms or makes primary an address of their own.
    Fulfilment gives an order's keys to the account with the order's address (ESD-15), so such a page
    would hand another person's keys to whoever adds that address; an end customer's address changes
    only by the reseller's correction (ESD-14). ``accounts.adapter`` and ``accounts.forms`` refuse the
    same behind these URLs."""
    raise Http404


class _SampleForm(forms.Form):
    """The style guide's form: one field of each kind the portal uses, bound so that its errors show."""

    email = forms.EmailField(
        label=gettext_lazy("End customer's e-mail"),
        help_text=gettext_lazy("The keys go to this address's Digital Locker."),
    )
    url = forms.URLField(label=gettext_lazy("Endpoint URL"), assume_scheme="https", required=False)
    product = forms.ChoiceField(
        label=gettext_lazy("Product"),
        choices=[
            ("w", "Windows 8.1 Pro (FQC-06949, 32/64-bit, all languages)"),
            ("o", "Office Home and Business"),
        ],
    )
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"), min_value=1, initial=1)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[("a", "order.fulfilled"), ("b", "order.awaiting_stock")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    agree = forms.BooleanField(label=gettext_lazy("I understand that keys cannot be returned"))


def styleguide(request: HttpRequest) -> HttpResponse:
    """Every component of the design system on one page (served only with DEBUG: portal.urls)."""
    form = _SampleForm(data={"email": "not-an-address", "product": "w", "quantity": "0", "events": ["a"]})
    form.is_valid()
    messages.info(request, _("An information toast."))
    messages.success(request, _("A success toast: the order was placed."))
    messages.warning(request, _("A warning toast."))
    messages.error(request, _("An error toast: the mail server refused the message."))
    rows = [
        {
            "id": 1042,
            "email": "anna.very-long-address.nowak@customer-with-a-long-domain.example",
            "status": "awaiting_stock",
        },
        {"id": 1041, "email": "jan.kowalski@customer.test", "status": "fulfilled"},
    ]
    context = {
        "form": form,
        "rows": rows,
        "key": "VK7JG-NPHTM-C97JM-9MPGT-3V66T",
        "product_name": "Windows 8.1 Pro",
        "badges": [
            "placed",
            "awaiting_stock",
            "fulfilled",
            "cancelled",
            "queued",
            "sent",
            "failed",
            "not_sent",
        ],
        "tones": ["info", "ok", "warn", "bad", "neutral"],
        "newer_url": "?before=1",
        "older_url": "?after=1",
    }
    return render(request, "portal/styleguide.html", context)
