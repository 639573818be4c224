"""Admin bases for records nobody edits by hand: history, sealed material, what a mailbox proves, and files
uploaded for a worker to import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and viewed only; a subclass may allow deleting (say, a lost authenticator) on its terms."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UploadJobAdmin(admin.ModelAdmin):
    """A file staff upload for a worker to import: the add page is an upload form whose valid file becomes
    a job (``upload_job_create``, through the app's service), and the page of a job still waiting or
    running refreshes itself, so it follows the progress until the run ends. Nobody edits or deletes a
    job by hand.

    A subclass names its form (a ``core.forms.TextUploadForm``), the page's title and help, the statuses of
    a job not yet ended, and the form fields an add link may fill in from its query string
    (``?product=…``).
    """

    upload_form: type[forms.Form]
    upload_title: str | Promise = ""
    upload_help: str | Promise = ""
    upload_prefill: tuple[str, ...] = ()
    running_statuses: tuple[str, ...] = ()
    change_form_template = "admin/upload_job/change_form.html"

    def upload_job_create(self, request: HttpRequest, form: forms.Form) -> models.Model:
        """The job made from a valid upload (the file is sealed by then); the worker runs it."""
        raise NotImplementedError

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Upload: the file is sealed at once and imported by a worker; the page then follows it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = self.upload_form(request.POST, request.FILES)
            if form.is_valid():
                job = self.upload_job_create(request, form)
                messages.success(request, _("The file was received; the import runs in the background."))
                opts = self.model._meta
                return HttpResponseRedirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[job.pk])
                )
        else:
            form = self.upload_form(initial={name: request.GET.get(name) for name in self.upload_prefill})
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": self.upload_title,
            "upload_help": self.upload_help,
        }
        return render(request, "admin/upload_job/upload.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            status = self.model._default_manager.filter(pk=object_id).values_list("status", flat=True).first()
        except (ValidationError, ValueError, TypeError):  # not a key of this model: the admin says so
            status = None
        extra_context = {**(extra_context or {}), "auto_refresh": status in self.running_statuses}
        return super().change_view(request, object_id, form_url, extra_context)
