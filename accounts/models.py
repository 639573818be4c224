"""Users (the e-mail is the login), organisations and who belongs to which."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .addresses import canonical_address, canonical_domain


def normalise_email(email: str) -> str:
    """One spelling per address: locker accounts are found by e-mail (ESD-15), case must not split them."""
    return (email or "").strip().lower()


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


class Organisation(models.Model):
    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor", _("Distributor")
        RESELLER = "reseller", _("Reseller")
        CUSTOMER = "customer", _("Customer")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    tax_id = models.CharField(_("tax number"), max_length=40, blank=True)
    # The postal (billing) address, printed for the buyer on invoices (orders.services.invoices).
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def postal_address(self) -> str:
        """The address on one line, "street, postcode city, country", leaving out what is empty."""
        town = f"{self.postcode} {self.city}".strip()
        return ", ".join(part for part in (self.street.strip(), town, self.country.strip()) if part)

    @property
    def is_reseller(self) -> bool:
        """The one test of "a reseller": it orders, holds tokens and webhooks, never receives keys."""
        return self.kind == self.Kind.RESELLER


class Membership(models.Model):
    """A user's place in one organisation, with a role. A person may belong to several organisations (an
    accountant or an IT firm serving several customers, CC-11); each request acts for one of them, chosen
    in the session (``accounts.tenancy``)."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")
        SUPPORT_AGENT = "support_agent", _("Support agent")
        LICENSING_SPECIALIST = "licensing_specialist", _("Licensing specialist")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="membership_once_per_organisation",
                violation_error_message=_("This person is already a member of this organisation."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"


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
