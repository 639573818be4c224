"""Staff see the customers' people history, invitation mails and pending registrations; nobody edits them
(ALL-3)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Invitation, PeopleEvent, Registration


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
