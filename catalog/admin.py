"""Staff prepare releases with their files and publish them (CC-2). A file's size and SHA-256 come from
``catalog.services`` (computed from the uploaded bytes), never typed. Publishing answers with the list of
customers who want media by post for those releases (CC-5): a CSV made by the customer centre, which owns
customers and their delivery preferences (reached by its URL name, as the catalogue imports no app above
it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Release, ReleaseFile
from .services import release_file_save, releases_publish

MEDIA_LIST_URL_NAME = "admin:centre_deliverypreference_media_list"


class ReleaseFileInline(admin.TabularInline):
    model = ReleaseFile
    extra = 1
    can_delete = False  # a file customers may have downloaded stays on record
    fields = ["name", "file", "size", "sha256", "created_at"]
    readonly_fields = ["size", "sha256", "created_at"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["product", "version", "release_date", "published", "published_at"]
    list_filter = ["published", "product"]
    search_fields = ["product__sku", "product__name", "version"]
    list_select_related = ["product"]
    date_hierarchy = "release_date"
    fields = ["product", "version", "release_date", "notes", "published", "published_at", "published_by"]
    readonly_fields = ["published", "published_at", "published_by"]
    inlines = [ReleaseFileInline]
    actions = ["publish"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A published release may have been downloaded: it stays (its downloads are on record).
        return super().has_delete_permission(request, obj) and (obj is None or not obj.published)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ReleaseFile:
            super().save_formset(request, form, formset, change)
            return
        saved = {id(instance) for instance in formset.save(commit=False)}  # new and changed, not stored yet
        for file_form in formset.forms:
            if id(file_form.instance) not in saved:
                continue
            upload = file_form.cleaned_data.get("file") if "file" in file_form.changed_data else None
            file_form.instance.release = form.instance
            release_file_save(release_file=file_form.instance, upload=upload)

    @admin.action(description=_("Publish, and download the list of customers who want media by post"))
    def publish(self, request: HttpRequest, queryset: QuerySet[Release]) -> HttpResponseRedirect | None:
        ids = list(queryset.values_list("pk", flat=True))
        published = releases_publish(release_ids=ids, actor=request.user)
        self.message_user(
            request,
            ngettext("%(n)d release published.", "%(n)d releases published.", len(published))
            % {"n": len(published)},
            messages.SUCCESS,
        )
        try:
            url = reverse(MEDIA_LIST_URL_NAME)
        except NoReverseMatch:
            return None
        return HttpResponseRedirect(url + "?" + urlencode([("release", pk) for pk in sorted(ids)]))
