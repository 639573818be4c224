"""The customer centre's own records. People and their rights live on ``accounts.Membership`` (the one
place tenancy reads); what happened to them is here (ALL-3), with the invitations mailed to them."""

from __future__ import annotations

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
