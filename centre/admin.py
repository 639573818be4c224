"""Staff see the customers' people history, invitation mails and pending registrations, and nobody edits
them (ALL-3); staff book customers' licences (CC-1) and see who was shown their installation numbers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from core.admin import ReadOnlyAdmin

from .download_admin import restore_downloads, withdraw_downloads
from .errors import CentreError
from .models import (
    Invitation,
    Licence,
    LicenceEvent,
    LicenceRevealEvent,
    PeopleEvent,
    Registration,
    SupportReminder,
)
from .services.licences import (
    NUMBER_MAX_LENGTH,
    installation_number_clean,
    installation_number_in_use,
    licence_book,
    licence_update,
    support_number_in_use,
)


@admin.register(PeopleEvent)
class PeopleEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "organisation", "person", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["organisation__name", "organisation__customer_id", "person__email"]
    list_select_related = ["organisation", "person", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "person", "kind", "actor", "data")


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Whether the mail went out; the link itself is never stored."""

    list_display = ["created_at", "organisation", "person", "invited_by", "mail_sent_at", "mail_error"]
    search_fields = ["organisation__name", "person__email"]
    list_select_related = ["organisation", "person", "invited_by"]
    fields = readonly_fields = (
        "created_at",
        "organisation",
        "person",
        "invited_by",
        "mail_attempts",
        "mail_sent_at",
        "mail_error",
    )


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    """Registrations of a first administrator (CC-7, CC-8) and whether their mail went out. The hashed
    password is not shown, and the link is never stored."""

    list_display = [
        "created_at",
        "organisation",
        "email",
        "status",
        "confirmed_at",
        "mail_sent_at",
        "mail_error",
    ]
    list_filter = ["status"]
    search_fields = ["organisation__name", "organisation__customer_id", "email"]
    list_select_related = ["organisation"]
    fields = readonly_fields = (
        "created_at",
        "organisation",
        "email",
        "full_name",
        "status",
        "confirmed_at",
        "mail_attempts",
        "mail_sent_at",
        "mail_error",
    )


class LicenceAdminForm(forms.ModelForm):
    """Staff book a direct sale (CC-1). The installation number is typed here and sealed by the service;
    it is never shown back: the change form shows "••••" and a field to replace it."""

    installation_number = forms.CharField(
        label=_("Installation number"),
        required=False,
        max_length=NUMBER_MAX_LENGTH,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Sealed in the locker as soon as it is saved; never shown here again."),
    )
    support_number = forms.CharField(
        label=_("Support number"),
        required=False,
        max_length=40,
        help_text=_("Leave empty and the portal issues the next one (S-YYYY-NNNNNN)."),
    )

    class Meta:
        model = Licence
        fields = ["customer", "product", "edition", "purchase_date"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "customer" in self.fields:
            field = self.fields["customer"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Organisation.objects.filter(kind=Organisation.Kind.CUSTOMER).order_by("name")
        if self.instance.pk is not None:
            self.fields["installation_number"].label = _("Replace the installation number")
            self.fields["installation_number"].help_text = _(
                "Leave empty to keep the current number; a number typed here replaces it."
            )
            self.fields.pop("support_number", None)  # shown read-only by the admin

    def clean_installation_number(self) -> str:
        number: str = self.cleaned_data.get("installation_number") or ""
        if self.instance.pk is None and not number:
            raise forms.ValidationError(_("Enter the installation number."))
        if number:
            try:
                number = installation_number_clean(number)  # the service's own refusal, by the field
            except CentreError as error:
                raise forms.ValidationError(error.message) from None
        if number and installation_number_in_use(number, exclude_id=self.instance.pk):
            raise forms.ValidationError(_("This installation number is already on a licence."))
        return number

    def clean_purchase_date(self) -> Any:
        """Not after today, as the import refuses it too: support is counted from it (SUP-2)."""
        bought = self.cleaned_data.get("purchase_date")
        if bought is not None and bought > timezone.localdate():
            raise forms.ValidationError(_("The purchase date cannot be in the future."))
        return bought

    def clean_support_number(self) -> str:
        given: str = (self.cleaned_data.get("support_number") or "").strip()
        if given and support_number_in_use(given):
            raise forms.ValidationError(_("This support number is already in use."))
        return given


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    """Licences of customers (CC-1). The list and the forms never show an installation number; a booking
    and a change go through ``centre.services.licences`` (sealed, recorded)."""

    form = LicenceAdminForm
    list_display = [
        "support_number",
        "customer",
        "product",
        "edition",
        "purchase_date",
        "source",
        "support_ends_on",
    ]
    list_filter = ["source", "purchase_date", "support_ends_on"]
    search_fields = ["support_number", "customer__name", "customer__customer_id", "product__sku"]
    list_select_related = ["customer", "product"]
    date_hierarchy = "purchase_date"
    actions = [withdraw_downloads, restore_downloads]  # SUP-11 (centre.download_admin)
    readonly_fields = [
        "installation_number_shown",
        "support_number",
        "source",
        "support_ends_on",
        "created_at",
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [
                "customer",
                "product",
                "edition",
                "purchase_date",
                "installation_number",
                "support_number",
            ]
        return [
            "customer",
            "support_number",
            "source",
            "product",
            "edition",
            "purchase_date",
            "support_ends_on",
            "installation_number_shown",
            "installation_number",
            "created_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [*self.readonly_fields, "customer"]

    @admin.display(description=_("Installation number"))
    def installation_number_shown(self, obj: Licence) -> str:
        return "••••"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A licence has showings and events on record (ALL-3).
        return False

    def save_model(self, request: HttpRequest, obj: Licence, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            licence = licence_update(
                licence_id=obj.pk,
                product=data["product"],
                edition=data.get("edition") or "",
                purchase_date=data["purchase_date"],
                installation_number=data.get("installation_number") or "",
                actor=request.user,
            )
        else:
            licence = licence_book(
                customer=data["customer"],
                product=data["product"],
                installation_number=data["installation_number"],
                purchase_date=data["purchase_date"],
                edition=data.get("edition") or "",
                support_number=data.get("support_number") or None,
                actor=request.user,
            )
        obj.pk = licence.pk
        obj.refresh_from_db()


@admin.register(LicenceRevealEvent)
class LicenceRevealEventAdmin(ReadOnlyAdmin):
    """Who was shown which licences' installation numbers, when and from where (LOCK-4, ALL-3); the
    numbers themselves are not here."""

    list_display = ["at", "organisation", "actor", "kind", "ip"]
    list_filter = ["kind"]
    search_fields = ["organisation__name", "organisation__customer_id", "actor__email"]
    list_select_related = ["organisation", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "actor", "kind", "ip", "user_agent", "licence_list")

    @admin.display(description=_("Licences shown"))
    def licence_list(self, obj: LicenceRevealEvent) -> str:
        return ", ".join(obj.shown.order_by("licence_id").values_list("licence__support_number", flat=True))


# --- imports and product registration (issue #14, CC-9, CC-10): in a module of their own ----------------
from . import import_admin  # noqa: E402, F401


@admin.register(LicenceEvent)
class LicenceEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "licence", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["licence__support_number"]
    list_select_related = ["licence", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "licence", "kind", "actor", "data")


# --- addresses (CC-4): customers keep them; staff read them and their history -------------------------
from .models import Address, AddressEvent  # noqa: E402


@admin.register(Address)
class AddressAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "kind",
        "label",
        "company",
        "city",
        "country_code",
        "updated_at",
        "removed_at",
    ]
    list_filter = ["kind"]
    search_fields = ["organisation__name", "organisation__customer_id", "label", "company", "city"]
    list_select_related = ["organisation"]
    fields = readonly_fields = (
        "organisation",
        "kind",
        "label",
        "company",
        "attention",
        "street",
        "postcode",
        "city",
        "country_code",
        "phone",
        "created_at",
        "updated_at",
        "removed_at",
    )


@admin.register(AddressEvent)
class AddressEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "organisation", "address", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["organisation__name", "organisation__customer_id", "actor__email"]
    list_select_related = ["organisation", "address", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "organisation", "address", "kind", "actor", "data")


# --- news (CC-6): staff publish; the body is sanitised whenever it is shown (centre.richtext) ----------
from .models import NewsItem  # noqa: E402


@admin.register(NewsItem)
class NewsItemAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "published_at", "updated_at"]
    list_filter = [("product", admin.EmptyFieldListFilter), "published_at"]
    search_fields = ["title"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]
    date_hierarchy = "published_at"
    fields = ("title", "body", "product", "published_at")


# --- documents (CC-6): staff publish; customers' downloads are recorded -------------------------------
from .models import Document, DocumentDownloadEvent  # noqa: E402


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "language", "published", "created_at"]
    list_filter = ["published", "language", ("product", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]
    fields = ("title", "description", "file", "product", "language", "published")


@admin.register(DocumentDownloadEvent)
class DocumentDownloadEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "document", "organisation", "actor", "ip"]
    search_fields = ["document__title", "organisation__name", "organisation__customer_id", "actor__email"]
    list_select_related = ["document", "organisation", "actor"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "document", "organisation", "actor", "ip", "user_agent")


# --- reminders before support ends (SUP-2; centre.services.reminders) ----------------------------------
@admin.register(SupportReminder)
class SupportReminderAdmin(ReadOnlyAdmin):
    """Which licence was reminded of its support's end, when, to how many administrators, or why not."""

    list_display = ["licence", "support_ends_on", "created_at", "mail_sent_at", "recipients", "mail_error"]
    list_filter = ["support_ends_on", "mail_sent_at"]
    search_fields = ["=licence__support_number", "=licence__customer__customer_id"]
    list_select_related = ["licence"]
    fields = readonly_fields = (
        "licence",
        "support_ends_on",
        "created_at",
        "mail_sent_at",
        "recipients",
        "mail_attempts",
        "mail_error",
    )
