"""Downloads in the customer centre (CC-2, CC-5, SUP-11, ALL-1).

Only a person acting for a customer with the *downloads* right gets here (403 otherwise). The page lists
the published releases of the products the organisation licenses; a product whose every licence had its
download access withdrawn shows the reason and whom to contact instead of links. A file is handed over
only through ``DownloadFileView``: tenancy, the right and a licence not withdrawn are checked, the download
is recorded, and then the file goes out as ``CENTRE_DOWNLOAD_DELIVERY`` says (nginx's X-Accel-Redirect,
X-Sendfile, a redirect to the storage's short-lived signed URL, or, in development, Django itself).
"""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views import View

from accounts.client_ip import client_ip
from accounts.models import Membership
from catalog.models import Release, ReleaseFile
from core.errors import add_to_form
from core.paging import pager_links

from .download_selectors import (
    ProductAccess,
    delivery_method,
    download_access,
    licensed_products,
    release_file_get,
    release_get,
    release_page,
)
from .errors import CentreError
from .forms_downloads import DeliveryPreferenceForm
from .services.downloads import delivery_preference_set, download_record
from .views import CustomerRequiredMixin

DOWNLOADS = Membership.Right.DOWNLOADS.value
USER_MANAGEMENT = Membership.Right.USER_MANAGEMENT.value


class DownloadsRequiredMixin(CustomerRequiredMixin):
    required_right = DOWNLOADS

    def common(self, request: HttpRequest, form: DeliveryPreferenceForm | None = None) -> dict[str, Any]:
        method = delivery_method(organisation=self.organisation)
        can_choose = self.tenancy.has_right(USER_MANAGEMENT)
        return {
            "organisation": self.organisation,
            "contact_email": settings.CENTRE_LICENSING_CONTACT_EMAIL,
            "delivery_method": method,
            "can_choose_delivery": can_choose,
            "delivery_form": form
            or (DeliveryPreferenceForm(initial={"method": method}) if can_choose else None),
        }


def _product_filter(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


class DownloadsView(DownloadsRequiredMixin, View):
    """The releases of the organisation's licensed products, newest first, with their files (CC-2)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request)

    def render_page(
        self, request: HttpRequest, form: DeliveryPreferenceForm | None = None, status: int = 200
    ) -> HttpResponse:
        access = download_access(organisation=self.organisation)
        product_id = _product_filter(request.GET.get("product"))
        if product_id not in access.products:
            product_id = None
        page = release_page(
            access=access,
            product_id=product_id,
            before=request.GET.get("before"),
            after=request.GET.get("after"),
        )
        query = {"product": product_id} if product_id else {}
        context = {
            **self.common(request, form),
            "releases": [(release, access.products[release.product_id]) for release in page.rows],
            "products": licensed_products(access),
            "product_id": product_id,
            "withdrawn": [a for a in access.products.values() if not a.allowed],
            **pager_links(page.newer, page.older, query),
        }
        return render(request, "centre/downloads.html", context, status=status)


class ReleaseView(DownloadsRequiredMixin, View):
    """One release with its notes and files; another organisation's or an unlicensed one: 404 (ALL-1)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            release, access = release_get(organisation=self.organisation, release_id=pk)
        except Release.DoesNotExist:
            raise Http404 from None
        context = {**self.common(request), "release": release, "access": access}
        return render(request, "centre/release.html", context)


class DeliveryPreferenceView(DownloadsView):
    """CC-5: download or media by post; chosen by people with *user management* (the organisation's
    settings are theirs, as its people are), shown to everyone on the downloads page."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if not self.tenancy.has_right(USER_MANAGEMENT):
            raise PermissionDenied
        form = DeliveryPreferenceForm(request.POST)
        if form.is_valid():
            try:
                delivery_preference_set(
                    organisation=self.organisation, method=form.cleaned_data["method"], actor=request.user
                )
            except CentreError as error:
                add_to_form(form, error)
            else:
                messages.success(request, _("Your delivery preference was saved."))
                return redirect("centre:downloads")
        return self.render_page(request, form, status=400)


class DownloadFileView(DownloadsRequiredMixin, View):
    """The access check in front of every file (CC-2, SUP-11): the file's release is published and its
    product licensed by the organisation (404 otherwise, ALL-1), a licence of it not withdrawn (403 with
    the reason otherwise); the download is recorded, then handed over."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
        try:
            release_file, access = release_file_get(organisation=self.organisation, file_id=pk)
        except ReleaseFile.DoesNotExist:
            raise Http404 from None
        if not access.allowed:
            return _withdrawn_response(request, release_file, access, self.common(request))
        download_record(
            organisation=self.organisation,
            user=request.user,
            release_file=release_file,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        response = deliver(release_file)
        patch_cache_control(response, private=True, no_store=True)
        return response


def _withdrawn_response(
    request: HttpRequest, release_file: ReleaseFile, access: ProductAccess, common: dict[str, Any]
) -> HttpResponse:
    context = {**common, "release": release_file.release, "access": access}
    response = render(request, "centre/download_withdrawn.html", context, status=403)
    add_never_cache_headers(response)
    return response


def _download_name(release_file: ReleaseFile) -> str:
    return str(release_file.file.name).rsplit("/", 1)[-1]


def deliver(release_file: ReleaseFile) -> HttpResponse | FileResponse:
    """Hand the file over as ``CENTRE_DOWNLOAD_DELIVERY`` says, without pushing its bytes through this
    worker except in development (``direct``)."""
    mode = settings.CENTRE_DOWNLOAD_DELIVERY
    name = str(release_file.file.name)
    storage = release_file.file.storage
    filename = _download_name(release_file)
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    if mode == "x-accel":
        response = HttpResponse(content_type="application/octet-stream")
        response["X-Accel-Redirect"] = settings.CENTRE_DOWNLOAD_ACCEL_PREFIX + quote(name)
        response["Content-Disposition"] = disposition
        return response
    if mode == "x-sendfile":
        response = HttpResponse(content_type="application/octet-stream")
        response["X-Sendfile"] = storage.path(name)
        response["Content-Disposition"] = disposition
        return response
    if mode == "signed-url":
        return HttpResponseRedirect(signed_url(storage, name))
    return FileResponse(storage.open(name, "rb"), as_attachment=True, filename=filename)


def signed_url(storage: Any, name: str) -> str:
    """The storage's URL for ``name``, valid ``CENTRE_DOWNLOAD_URL_SECONDS`` where the storage signs URLs
    with an expiry (django-storages' S3, Google Cloud and Azure storages take ``expire``)."""
    seconds = settings.CENTRE_DOWNLOAD_URL_SECONDS
    try:
        takes_expire = "expire" in inspect.signature(storage.url).parameters
    except (TypeError, ValueError):
        takes_expire = False
    url: str = storage.url(name, expire=seconds) if takes_expire else storage.url(name)
    return url
