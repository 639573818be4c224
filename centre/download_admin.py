"""Staff's side of downloads (CC-2, CC-5, SUP-11): withdrawing and restoring a licence's download access
(actions on the licence list, with a reason), who downloaded what, the customers' delivery preferences and
the list of customers who want media by post for published releases (the CSV the release admin's
"Publish" action answers with). All of it under /admin/, behind the staff second factor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.admin import ReadOnlyAdmin
from core.csv_export import csv_response
from core.ids import id_or_none

from .download_selectors import MediaRecipient, media_recipients
from .errors import CentreError
from .models import DeliveryPreference, DeliveryPreferenceEvent, DownloadEvent, Licence
from .services.downloads import REASON_MAX_LENGTH, licence_downloads_restore, licence_downloads_withdraw


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (the customer reads it)"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.action(description=gettext_lazy("Withdraw download access (licence breach)"))
def withdraw_downloads(
    modeladmin: admin.ModelAdmin[Licence], request: HttpRequest, queryset: QuerySet[Licence]
) -> TemplateResponse | None:
    """SUP-11: asks for the reason first (a page of its own), then withdraws."""
    form = WithdrawForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        try:
            done = licence_downloads_withdraw(
                licence_ids=list(queryset.values_list("pk", flat=True)),
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except CentreError as error:
            form.add_error("reason", error.message)
        else:
            modeladmin.message_user(
                request,
                ngettext(
                    "Download access withdrawn for %(n)d licence.",
                    "Download access withdrawn for %(n)d licences.",
                    len(done),
                )
                % {"n": len(done)},
                messages.SUCCESS,
            )
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Withdraw download access"),
        "opts": modeladmin.model._meta,
        "licences": queryset.select_related("customer", "product"),
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
    }
    return TemplateResponse(request, "admin/centre/licence/withdraw_downloads.html", context)


@admin.action(description=gettext_lazy("Restore download access"))
def restore_downloads(
    modeladmin: admin.ModelAdmin[Licence], request: HttpRequest, queryset: QuerySet[Licence]
) -> None:
    done = licence_downloads_restore(
        licence_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
    )
    modeladmin.message_user(
        request,
        ngettext(
            "Download access restored for %(n)d licence.",
            "Download access restored for %(n)d licences.",
            len(done),
        )
        % {"n": len(done)},
        messages.SUCCESS,
    )


@admin.register(DownloadEvent)
class DownloadEventAdmin(ReadOnlyAdmin):
    """Every download (CC-2, ALL-3): who, when, which file, for which customer, from where."""

    list_display = ["at", "organisation", "actor", "release_file", "ip"]
    search_fields = ["organisation__name", "organisation__customer_id", "actor__email"]
    list_select_related = ["organisation", "actor", "release_file"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "actor", "release_file", "ip", "user_agent", "data")


@admin.register(DeliveryPreferenceEvent)
class DeliveryPreferenceEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "organisation", "actor", "data"]
    search_fields = ["organisation__name", "organisation__customer_id"]
    list_select_related = ["organisation", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "kind", "actor", "data")


def _media_header() -> list[str]:
    return [
        _("Customer id"),
        _("Name"),
        _("Company"),
        _("For the attention of"),
        _("Street and number"),
        _("Postcode"),
        _("City"),
        _("Country"),
        _("Administrators' e-mail"),
        _("SKU"),
        _("Product"),
        _("Version"),
    ]


def _media_cells(row: MediaRecipient) -> list[Any]:
    address = row.address
    return [
        row.customer.customer_id or "",
        row.customer.name,
        address.company if address else "",
        address.attention if address else "",
        address.street if address else "",
        address.postcode if address else "",
        address.city if address else "",
        address.country_code if address else "",
        "; ".join(row.admin_emails),
        row.release.product.sku,
        row.release.product.name,
        row.release.version,
    ]


@admin.register(DeliveryPreference)
class DeliveryPreferenceAdmin(ReadOnlyAdmin):
    """How each customer wants new versions (CC-5); customers choose it themselves. ``media.csv`` lists,
    for the published releases named by ``?release=``, the customers who want media by post."""

    list_display = ["organisation", "method", "changed_at"]
    list_filter = ["method"]
    search_fields = ["organisation__name", "organisation__customer_id"]
    list_select_related = ["organisation"]
    fields = readonly_fields = ("organisation", "method", "changed_at")

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "media.csv",
                self.admin_site.admin_view(self.media_list),
                name="centre_deliverypreference_media_list",
            )
        ]
        return urls + super().get_urls()

    def media_list(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        if not (
            request.user.has_perm("catalog.change_release")
            or request.user.has_perm("centre.view_deliverypreference")
        ):
            raise PermissionDenied
        ids = [i for i in map(id_or_none, request.GET.getlist("release")) if i is not None]
        response = csv_response(
            f"media-by-post-{timezone.localdate():%Y-%m-%d}.csv",
            _media_header(),
            (_media_cells(row) for row in media_recipients(ids)),
        )
        response["Cache-Control"] = "no-store"
        return response
