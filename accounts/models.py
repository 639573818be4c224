"""Users (the e-mail is the login), organisations and who belongs to which."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Event, SendOnceMail

from . import membership_cache
from .addresses import canonical_address, canonical_domain


def normalise_email(email: str) -> str:
    """One spelling per address: locker accounts are found by e-mail (ESD-15), case must not split them."""
    return (email or "").strip().lower()


_TAX_ID_SEPARATORS = re.compile(r"[\s.\-]+")


def normalise_tax_id(tax_id: str) -> str:
    """One spelling per tax id (company number): no spaces, dashes or dots, upper case; a country prefix
    is kept as given (``"pl 526-025-09.95"`` → ``"PL5260250995"``, ``"526 025 09 95"`` → ``"5260250995"``)."""
    return _TAX_ID_SEPARATORS.sub("", tax_id or "").upper()


def tax_id_matches(organisation: Organisation, given: str) -> bool:
    """Whether ``given`` is the organisation's tax id, with or without separators and with or without the
    customer's country prefix (CC-7: ``5260250995`` = ``PL 526-025-09-95``).

    Both sides are normalised (``normalise_tax_id``); then a leading two-letter prefix equal to the
    organisation's ``country_code`` is dropped from each before they are compared. A prefix of another
    country is part of the number and must match as typed. Empty never matches.
    """
    stored, typed = organisation.tax_id_normalised, normalise_tax_id(given)
    if not stored or not typed:
        return False
    prefix = (organisation.country_code or "").upper()
    if len(prefix) == 2:
        stored = stored.removeprefix(prefix)
        typed = typed.removeprefix(prefix)
    return bool(stored) and stored == typed


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalise_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalise_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # When the owner first chose a password (ESD-14 needs to know whether the locker account was used).
    password_set_at = models.DateTimeField(_("password set at"), null=True, blank=True)
    # Bumped to invalidate every set-password link issued so far (accounts.tokens).
    link_generation = models.PositiveIntegerField(default=0, editable=False)
    # The mailbox the address delivers to (accounts.addresses), kept beside it so that "is this a member's
    # address?" is one indexed lookup whatever the spelling (ESD-7). Never an identity: that is ``email``.
    email_canonical = models.CharField(max_length=254, db_index=True, editable=False, default="")

    objects = UserManager()  # type: ignore[misc]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalise_email(self.email)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column, not a rule: it must follow the address on every write that saves the address.
        self.email_canonical = canonical_address(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_canonical"}
        super().save(*args, **kwargs)


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def update(self, **kwargs: Any) -> int:
        """A bulk update sends no signal: the members read their memberships again (``membership_cache``)."""
        members = list(
            Membership.objects.filter(organisation__in=self.values("pk")).values_list("user_id", flat=True)
        )
        updated = super().update(**kwargs)
        membership_cache.forget(members)  # after the write: see membership_cache.forget
        return updated

    update.alters_data = True  # type: ignore[attr-defined]


class Organisation(models.Model):
    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor", _("Distributor")
        RESELLER = "reseller", _("Reseller")
        CUSTOMER = "customer", _("Customer")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    tax_id = models.CharField(_("tax number"), max_length=40, blank=True)
    # ``normalise_tax_id(tax_id)``, kept beside it so that a registration finds its customer by one indexed
    # lookup whatever the separators (CC-7). Derived in ``save``; never typed.
    tax_id_normalised = models.CharField(
        _("tax number (normalised)"), max_length=40, blank=True, db_index=True, editable=False, default=""
    )
    # The distributor's customer id (printed on its invoices): unique among customers, empty for the
    # other kinds (a database constraint).
    customer_id = models.CharField(
        _("customer id"),
        max_length=32,
        null=True,
        blank=True,
        help_text=_("The distributor's customer number, as printed on its invoices (customers only)."),
    )
    country_code = models.CharField(
        _("country code"),
        max_length=2,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Two capital letters (ISO 3166-1 alpha-2), e.g. PL."))],
        help_text=_("ISO 3166-1 alpha-2, e.g. PL. A tax number matches with or without this prefix."),
    )
    # The postal (billing) address, printed for the buyer on invoices (orders.services.invoices).
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id"],
                condition=Q(kind="customer"),
                name="organisation_customer_id_unique",
                violation_error_message=_("Another customer has this customer id."),
            ),
            models.CheckConstraint(
                condition=Q(kind="customer") | Q(customer_id__isnull=True),
                name="organisation_customer_id_only_for_customers",
                violation_error_message=_("Only customer organisations have a customer id."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column, not a rule: it follows the tax id on every write that saves the tax id.
        self.tax_id_normalised = normalise_tax_id(self.tax_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "tax_id" in update_fields:
            kwargs["update_fields"] = {*update_fields, "tax_id_normalised"}
        super().save(*args, **kwargs)

    @property
    def is_customer(self) -> bool:
        """A company of the customer centre (CC-*): it holds licences and people with rights."""
        return self.kind == self.Kind.CUSTOMER

    @property
    def postal_address(self) -> str:
        """The address on one line, "street, postcode city, country", leaving out what is empty."""
        town = f"{self.postcode} {self.city}".strip()
        return ", ".join(part for part in (self.street.strip(), town, self.country.strip()) if part)

    @property
    def is_reseller(self) -> bool:
        """The one test of "a reseller": it orders, holds tokens and webhooks, never receives keys."""
        return self.kind == self.Kind.RESELLER


class MembershipQuerySet(models.QuerySet["Membership"]):
    """Bulk writes send no signals, so they make the people concerned read their memberships again
    themselves (``accounts.membership_cache``); saves and deletes do it through ``accounts.receivers``."""

    def for_org(self, organisation: Any) -> MembershipQuerySet:
        return self.filter(organisation=organisation)

    def update(self, **kwargs: Any) -> int:
        rows = list(self.values_list("pk", "user_id"))
        updated = super().update(**kwargs)
        people = {user_id for _pk, user_id in rows}
        if "user" in kwargs or "user_id" in kwargs:  # moved to someone else: they read theirs again too
            moved = Membership.objects.filter(pk__in=[pk for pk, _user_id in rows])
            people.update(moved.values_list("user_id", flat=True))
        membership_cache.forget(people)  # after the write: see membership_cache.forget
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        membership_cache.forget(obj.user_id for obj in objs)
        return created

    def active(self) -> MembershipQuerySet:
        return self.filter(active=True)


class Membership(models.Model):
    """A user's place in one organisation, with a role. A person may belong to several organisations (an
    accountant or an IT firm serving several customers, CC-11); each request acts for one of them, chosen
    in the session (``accounts.tenancy``).

    In a customer organisation a membership carries rights (CC-6), any combination of ``Right``, one
    boolean column each (``right_<name>``), so "who may do X here" is a plain filter. Administrators have
    every right whatever their columns say. A deactivated membership (``active`` off) keeps its history
    but acts for nobody: ``accounts.tenancy`` does not see it."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")
        SUPPORT_AGENT = "support_agent", _("Support agent")
        LICENSING_SPECIALIST = "licensing_specialist", _("Licensing specialist")

    class Right(models.TextChoices):
        LICENCES = "licences", _("Licences and installation numbers")
        DOWNLOADS = "downloads", _("Downloads")
        DOCUMENTS = "documents", _("Documents")
        NEWS = "news", _("News")
        SUPPORT = "support", _("Support requests")
        SERVICE_CONTRACTS = "service_contracts", _("Service contracts")
        USER_MANAGEMENT = "user_management", _("User management")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("A deactivated person keeps their history but cannot act.")
    )
    right_licences = models.BooleanField(_("licences and installation numbers"), default=False)
    right_downloads = models.BooleanField(_("downloads"), default=False)
    right_documents = models.BooleanField(_("documents"), default=False)
    right_news = models.BooleanField(_("news"), default=False)
    right_support = models.BooleanField(_("support requests"), default=False)
    right_service_contracts = models.BooleanField(_("service contracts"), default=False)
    right_user_management = models.BooleanField(_("user management"), default=False)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        indexes = [models.Index(fields=["organisation", "id"], name="membership_org_id_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="membership_once_per_organisation",
                violation_error_message=_("This person is already a member of this organisation."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @staticmethod
    def right_field(name: str) -> str:
        """The column of right ``name`` (a ``Right`` value); ValueError for anything else."""
        if name not in Membership.Right.values:
            raise ValueError(f"unknown right {name!r}")
        return f"right_{name}"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def rights(self) -> frozenset[str]:
        """The rights this membership gives, whether or not it is active: all of them for an administrator."""
        if self.is_admin:
            return frozenset(self.Right.values)
        return frozenset(name for name in self.Right.values if getattr(self, f"right_{name}"))

    @property
    def rights_display(self) -> str:
        """The rights' names, in the list's order, for people to read."""
        return ", ".join(str(label) for value, label in self.Right.choices if value in self.rights)

    def has_right(self, name: str) -> bool:
        """Whether this membership may act with right ``name`` now: active, and an administrator or given
        the right."""
        return self.active and name in self.rights


class MailDomainQuerySet(models.QuerySet["MailDomain"]):
    def for_org(self, organisation: Any) -> MailDomainQuerySet:
        return self.filter(organisation=organisation)


class MailDomain(models.Model):
    """A mail domain a reseller declared as its own: no address there is an end customer of its orders
    (ESD-7), whatever the mailbox. Subdomains are covered too."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="mail_domains", verbose_name=_("organisation")
    )
    domain = models.CharField(_("mail domain"), max_length=253)
    created_at = models.DateTimeField(_("declared at"), default=timezone.now)
    created_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declared by"),
    )

    objects = MailDomainQuerySet.as_manager()

    class Meta:
        verbose_name = _("mail domain")
        verbose_name_plural = _("mail domains")
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["organisation", "domain"], name="maildomain_unique")]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        super().clean()
        self.domain = canonical_domain(self.domain)


# --- a person's own change of e-mail address (issue #14) ----------------------------------------------
class EmailChange(SendOnceMail):
    """A person's request to move their account to another address, confirmed from that address only
    (``accounts.email_change``). The account changes when the link mailed to the new address is used; the
    previous address is then told (masked, without a link). Each of the two mails is sent once
    (``core.mail.send_once``): the link's columns are ``SendOnceMail``'s, the notice's the same four under
    the prefix ``notice``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        SUPERSEDED = "superseded", _("Replaced by a newer request")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    from_email = models.EmailField(_("previous address"))
    to_email = models.EmailField(_("new address"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # The confirmation mail to the new address (``SendOnceMail``'s columns, labelled for the link).
    mail_sent_at = models.DateTimeField(_("link mailed at"), null=True, blank=True)
    mail_error = models.CharField(_("link mail error"), max_length=300, blank=True)
    # The notice to the previous address, once confirmed.
    notice_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    notice_attempts = models.PositiveIntegerField(default=0, editable=False)
    notice_sent_at = models.DateTimeField(_("previous address told at"), null=True, blank=True)
    notice_error = models.CharField(_("notice error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("e-mail change")
        verbose_name_plural = _("e-mail changes")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-requested_at"], name="emailchange_user_recent_idx"),
            # The sweeper's two look-ups: links and notices a lost message left unsent.
            models.Index(
                fields=["requested_at"], name="emailchange_unsent_idx", condition=Q(mail_sent_at=None)
            ),
            models.Index(
                fields=["confirmed_at"],
                name="emailchange_notice_unsent_idx",
                condition=Q(status="confirmed", notice_sent_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


class AccountEvent(Event):
    """What happened to an account (ALL-3), for every kind of user: who (``actor``; the person themself for
    their own change, empty for the system) did what to which account (``user``), when. An address change
    records both addresses (``data["from"]``, ``data["to"]``) as ESD-14's corrections do, and what followed
    the account (``data["orders"]``: orders whose address moved with it)."""

    class Kind(models.TextChoices):
        EMAIL_CHANGE_REQUESTED = "email_change_requested", _("Asked to change the e-mail address")
        EMAIL_CHANGED = "email_changed", _("E-mail address changed")
        EMAIL_CHANGE_NOTICE_SENT = "email_change_notice_sent", _("Previous address told of the change")

    user = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="account_events",
        verbose_name=_("account"),
        db_index=False,
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["user", "at"], name="accountevent_user_at_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"
