"""The customer centre's own records. People and their rights live on ``accounts.Membership`` (the one
place tenancy reads); what happened to them is here (ALL-3), with the invitations mailed to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from core.models import Event


class PeopleEvent(Event):
    """Append-only history of a customer's people (CC-6, ALL-3): who (``actor``) did what to whom
    (``person``) in which organisation, and the person's role, state and rights before and after
    (``data["before"]``, ``data["after"]``: ``{"role", "active", "rights"}``). It points at the person and
    the organisation, not the membership, so it outlives a removal."""

    class Kind(models.TextChoices):
        INVITED = "invited", _("Invited")
        RIGHTS_CHANGED = "rights_changed", _("Rights changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")
        PROMOTED = "promoted", _("Made an administrator")
        DEMOTED = "demoted", _("No longer an administrator")
        HANDED_OVER = "handed_over", _("Handed the administrator role over")
        REMOVED = "removed", _("Removed from the organisation")
        REGISTERED = "registered", _("Registered as the first administrator")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="people_events", verbose_name=_("organisation")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=Kind.choices)

    class Meta:
        verbose_name = _("people event")
        verbose_name_plural = _("people events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["organisation", "person", "at"], name="peopleevent_org_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class Invitation(models.Model):
    """The mail that tells an invited person they were added to a customer (CC-6): a set-password link for
    an account without a password, a login link for one with. Sent once by ``centre.tasks``: a worker
    claims it (``mail_claimed_until``) and marks it sent; a second delivery of the task finds it sent."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("invited at"), default=timezone.now)
    mail_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    mail_attempts = models.PositiveIntegerField(default=0, editable=False)
    mail_sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
    mail_error = models.CharField(_("mail error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(
                fields=["created_at"], name="invitation_unsent_idx", condition=models.Q(mail_sent_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} to {self.organisation_id}"


class RegistrationQuerySet(models.QuerySet["Registration"]):
    def pending(self) -> RegistrationQuerySet:
        return self.filter(status=Registration.Status.PENDING)

    def lapsed(self, *, now: Any = None) -> RegistrationQuerySet:
        """Pending and older than ``CENTRE_REGISTRATION_DAYS`` (CC-8): no longer confirmable."""
        return self.pending().filter(created_at__lt=Registration.lapse_boundary(now))

    def confirmable(self, *, now: Any = None) -> RegistrationQuerySet:
        return self.pending().filter(created_at__gte=Registration.lapse_boundary(now))


class Registration(models.Model):
    """A person's request to become the first administrator of a customer (CC-7), waiting for the
    confirmation from the mail it sent (CC-8). Stored only when the customer id and tax id matched a
    customer without an active administrator; the password is kept hashed (``make_password``), never in
    clear, and is forgotten once confirmed. Pending ones older than ``CENTRE_REGISTRATION_DAYS`` lapse and
    are deleted by ``centre.tasks.sweep_registrations``. The mail is sent once by ``centre.tasks`` (a
    worker claims it, as for invitations); the link is signed and names the row, so it dies with it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="registrations", verbose_name=_("customer")
    )
    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    password_hash = models.CharField(max_length=256, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    mail_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    mail_attempts = models.PositiveIntegerField(default=0, editable=False)
    mail_sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
    mail_error = models.CharField(_("mail error"), max_length=300, blank=True)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        indexes = [
            models.Index(
                fields=["created_at"], name="registration_pending_idx", condition=models.Q(status="pending")
            )
        ]
        constraints = [
            # One pending registration per customer and address: registering again replaces it.
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=models.Q(status="pending"),
                name="registration_pending_once_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} for {self.organisation_id} ({self.status})"

    @staticmethod
    def lapse_boundary(now: Any = None) -> Any:
        """Registrations made before this moment have lapsed."""
        return (now or timezone.now()) - timedelta(days=settings.CENTRE_REGISTRATION_DAYS)
