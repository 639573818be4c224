"""The admin of users, organisations and memberships, and of allauth's e-mail addresses and authenticators.

ESD-8: no admin path gives anyone a session as a locker account's owner (a user who received keys:
``ProductKey.owner``, ``Order.end_customer``; or who will: the address of an order not fulfilled yet). So
the admin

- never sets a password: the password view answers 403 for every user, the forms have no password field,
  a user is added without one; staff send a set-password link instead (allauth's own reset mail);
- never changes a locker account's address (ESD-14's correction does, with its checks), and clears the
  password of any other account whose address it changes (else staff could prepare an account with a
  password they know and move it to a future customer's address before the first order) and removes its
  allauth e-mail addresses (else "forgot password" at the old address would still find it);
- keeps staff and locker roles apart: no staff or superuser flag, group, permission or membership for an
  account that holds keys. No such flag opens keys to staff (only the owner reveals, in the locker), but
  an account whose password whoever reads a customer's mailbox sets must not carry staff rights either,
  and no staff tool (this admin, MFA resets) should ever be aimed at a key owner;
- lets nobody add, edit or read authenticators (their secrets) or e-mail addresses ("Forgot password"
  finds accounts by those too): a superuser may only remove a lost authenticator.

Whether a user is a locker account is asked through the reverse relations, by name, and through the orders'
``end_customer_email`` with the model looked up by app label at call time: ``accounts`` sits below ``locker``
and ``orders`` and imports neither.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from core.admin_site import SafeAutocompleteSelect

from .forms import UserAddForm, UserChangeForm, send_set_password_link
from .models import AccountEvent, EmailChange, MailDomain, Membership, Organisation, User
from .services import mail_domain_normalise
from .signals import postal_address_kept_elsewhere

# Fields an account that holds keys never gets from the admin (ESD-8).
LOCKER_READONLY = ("email", "is_staff", "is_superuser", "groups", "user_permissions")


def postal_address_keeper(organisation: Organisation) -> str | None:
    """The sentence of the app that keeps ``organisation``'s postal address and writes it onto its fields
    (``signals.postal_address_kept_elsewhere``), or None when staff keep it here."""
    for _receiver, answer in postal_address_kept_elsewhere.send(
        sender=Organisation, organisation=organisation
    ):
        if answer:
            return str(answer)
    return None


def is_locker_account(user: User) -> bool:
    """Whether ``user`` owns keys, is the end customer of an order, or is about to be one: its address is
    the ``end_customer_email`` of an order (also one placed and not fulfilled yet: fulfilment will make
    this account that order's locker, ESD-15), so it has the same protections before the keys arrive.
    One query."""
    if user.pk is None:
        return False
    # Looked up by app label at call time, not imported: ``accounts`` sits below ``orders`` and must not
    # import it (orders imports accounts; an import here would tie the two apps into a cycle).
    order_model = apps.get_model("orders", "Order")
    ordered_for = order_model._default_manager.filter(end_customer_email=OuterRef("email"))
    return (
        User.objects.filter(pk=user.pk)
        .filter(Q(locker_keys__isnull=False) | Q(locker_orders__isnull=False) | Exists(ordered_for))
        .exists()
    )


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    fk_name = "user"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    add_form_template = "admin/accounts/user/add_form.html"
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "password_set_at", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined", "password_set_at"]
    inlines = [MembershipInline]
    actions = ["send_set_password_link"]
    fieldsets = (
        (None, {"fields": ("email",)}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined", "password_set_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "send_set_password_link")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and is_locker_account(obj):
            fields += [f for f in LOCKER_READONLY if f not in fields]
        return fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # A new user is made first (then the change page opens); a locker account joins no organisation
        # (ESD-7's converse): no membership form for either.
        if obj is None or is_locker_account(obj):
            return []
        return super().get_inlines(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """ESD-8: staff never set a password here, for any user (their own: allauth's password page)."""
        raise PermissionDenied

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        moved = change and "email" in form.changed_data
        if moved:
            # The new address's owner chooses the password; links sent to the old address die.
            obj.set_unusable_password()
            obj.link_generation += 1
        super().save_model(request, obj, form, change)
        if moved:
            # allauth finds accounts by its EmailAddress rows too ("forgot password", login), so rows left
            # at the old address would let its mailbox reset the moved account. allauth writes a row again
            # for the account's current address when it needs one. (The admin's change view is atomic.)
            EmailAddress.objects.filter(user_id=obj.pk).delete()
            # Recorded as the owner's own change is (ALL-3), naming the staff member. No order follows: an
            # address orders were placed for is a locker account's, read-only here (``LOCKER_READONLY``).
            AccountEvent.objects.create(
                user=obj,
                actor=request.user if isinstance(request.user, User) else None,
                kind=AccountEvent.Kind.EMAIL_CHANGED,
                data={"from": form.initial.get("email", ""), "to": obj.email, "by": "staff"},
            )

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        if request.POST.get("send_set_password_link"):
            self._send_link(request, obj)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description=_("Send a set-password link"), permissions=["change"])
    def send_set_password_link(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """ESD-8: each selected owner gets allauth's reset mail; staff see how many, never a link."""
        sent = sum(self._send_link(request, user, quiet=True) for user in queryset)
        skipped = queryset.count() - sent
        if sent:
            self.message_user(
                request,
                ngettext(
                    "A set-password link was mailed to %(count)d account's address.",
                    "A set-password link was mailed to %(count)d accounts' addresses.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d inactive account got no link.",
                    "%(count)d inactive accounts got no link.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def _send_link(self, request: HttpRequest, user: User, quiet: bool = False) -> bool:
        """Send one link and log who sent it when (a LogEntry on the user); the link is only in the mail."""
        if not send_set_password_link(request, user):
            return False
        self.log_change(request, user, "Sent a set-password link to the account's address.")
        if not quiet:
            self.message_user(request, _("A set-password link was mailed to the account's address."))
        return True


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organisation", "role", "active", *(f"right_{r}" for r in Membership.Right.values)]

    def clean_user(self) -> User:
        user = self.cleaned_data["user"]
        if is_locker_account(user):
            raise forms.ValidationError(
                _("This is a locker account (it holds keys): it cannot join an organisation.")
            )
        return user


class MailDomainInlineForm(forms.ModelForm):
    """The reseller's own mail domains (ESD-7), checked and spelt as the portal's page does."""

    class Meta:
        model = MailDomain
        fields = ["domain"]

    def clean_domain(self) -> str:

        try:
            return mail_domain_normalise(self.cleaned_data["domain"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class MailDomainInline(admin.TabularInline):
    model = MailDomain
    form = MailDomainInlineForm
    extra = 0
    fields = ["domain", "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]
    verbose_name_plural = _("mail domains of its own (no end-customer address there on its orders)")


class OrganisationAdminForm(forms.ModelForm):
    """Staff keep a customer's customer id and tax id (CC-7); the country code is what a tax number may
    carry as its prefix. An empty customer id is none (NULL), so any number of non-customers have none."""

    class Meta:
        model = Organisation
        fields = [
            "name",
            "kind",
            "customer_id",
            "tax_id",
            "country_code",
            "street",
            "postcode",
            "city",
            "country",
            "created_at",
        ]

    def clean_customer_id(self) -> str | None:
        value = (self.cleaned_data.get("customer_id") or "").strip()
        return value or None

    def clean_country_code(self) -> str:
        return (self.cleaned_data.get("country_code") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("customer_id") and cleaned.get("kind") != Organisation.Kind.CUSTOMER:
            self.add_error("customer_id", _("Only customer organisations have a customer id."))
        return cleaned


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationAdminForm
    list_display = ["name", "kind", "customer_id", "tax_id", "country_code", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "tax_id", "tax_id_normalised", "customer_id"]
    readonly_fields = ["tax_id_normalised"]
    inlines = [MailDomainInline]

    POSTAL_FIELDS = ("street", "postcode", "city", "country")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and postal_address_keeper(obj):
            fields += [*self.POSTAL_FIELDS, "postal_address_kept"]
        return fields

    @admin.display(description=_("Postal address"))
    def postal_address_kept(self, obj: Organisation) -> str:
        """Why the postal fields are read-only here (another app keeps them and writes them through)."""
        return postal_address_keeper(obj) or ""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for instance in formset.save(commit=False):
            if isinstance(instance, MailDomain) and instance.created_by_id is None:
                instance.created_by_id = request.user.pk
            instance.save()
        for gone in formset.deleted_objects:
            gone.delete()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipAdminForm
    list_display = ["user", "organisation", "role", "active"]
    list_filter = ["role", "active", "organisation__kind"]
    search_fields = ["user__email", "organisation__name"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["organisation"]
    raw_id_fields = ["user"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- allauth's models: read-only here (ESD-8) -----------------------------------------------------------
if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)
if admin.site.is_registered(Authenticator):
    admin.site.unregister(Authenticator)


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin):
    """Read-only: "Forgot password" finds an account by these addresses too, so one added here would let
    whoever reads that mailbox set the account's password."""

    list_display = ["email", "user", "primary", "verified"]
    list_filter = ["primary", "verified"]
    search_fields = ["email", "user__email"]
    fields = readonly_fields = ("email", "user", "primary", "verified")


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdmin):
    """Who has which second factor, never its secret. Nothing is added or edited here (an authenticator
    with a secret staff chose would sign them in as its user); a superuser may remove a lost one, which
    removes the user's recovery codes too and gives nobody a session: the owner signs in with the password
    and sets up a new authenticator before the admin opens again."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type", "created_at", "last_used_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = readonly_fields = ("user", "type", "created_at", "last_used_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)  # type: ignore[union-attr]

    @transaction.atomic
    def delete_model(self, request: HttpRequest, obj: Authenticator) -> None:
        self.delete_queryset(request, Authenticator.objects.filter(pk=obj.pk))

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Authenticator]) -> None:
        users = set(queryset.values_list("user_id", flat=True))
        queryset.delete()
        # Recovery codes left without the authenticator they back up would still open the account.
        backed = Authenticator.objects.exclude(type=Authenticator.Type.RECOVERY_CODES).values("user_id")
        Authenticator.objects.filter(user_id__in=users, type=Authenticator.Type.RECOVERY_CODES).exclude(
            user_id__in=backed
        ).delete()


# allauth's own admin of user sessions (its app comes after this one) registers first, then gives way.
import allauth.usersessions.admin  # noqa: E402, F401

if admin.site.is_registered(UserSession):
    admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    """Who is signed in where (allauth's user sessions): never the session key (it is the session: whoever
    holds it is signed in as its user) nor its data. Nothing is added or edited here; a superuser may end a
    session, which signs its browser out (``UserSession.end``), as its owner can at /accounts/sessions/."""

    list_display = ["user", "created_at", "last_seen_at", "ip", "user_agent"]
    search_fields = ["user__email", "=ip"]
    list_select_related = ["user"]
    fields = readonly_fields = ("user", "created_at", "last_seen_at", "ip", "user_agent")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)  # type: ignore[union-attr]

    def delete_model(self, request: HttpRequest, obj: UserSession) -> None:
        obj.end()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserSession]) -> None:
        for session in queryset:
            session.end()


# --- a person's own change of address (accounts.email_change) ------------------------------------------
@admin.register(EmailChange)
class EmailChangeAdmin(ReadOnlyAdmin):
    """Who asked to move their account to which address, and whether the link and the notice went out.
    The links themselves are never stored."""

    list_display = [
        "user",
        "to_email",
        "status",
        "requested_at",
        "confirmed_at",
        "mail_sent_at",
        "notice_sent_at",
    ]
    list_filter = ["status", "requested_at"]
    search_fields = ["=user__email", "=from_email", "=to_email"]
    list_select_related = ["user"]
    fields = readonly_fields = (
        "user",
        "from_email",
        "to_email",
        "status",
        "requested_at",
        "confirmed_at",
        "mail_sent_at",
        "mail_error",
        "notice_sent_at",
        "notice_error",
    )


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    """Each account's history (ALL-3): address changes asked for (and refused, with why), made, told."""

    list_display = ["user", "kind", "actor", "at"]
    list_filter = ["kind", "at"]
    search_fields = ["=user__email"]
    list_select_related = ["user", "actor"]
    fields = readonly_fields = ("user", "kind", "actor", "at", "data")
