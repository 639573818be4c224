"""Abstract models every app builds on: the history (ALL-3) and a record's mail sent once (ALL-5)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """History rows are written once: the application never updates or deletes them (ALL-3)."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} rows are append-only")


class Event(AppendOnlyModel):
    """One thing that happened to a record: its ``kind`` (each app's own choices), who did it (empty: the
    system), when, and what a reader needs to know (never a secret). A subclass adds the foreign key to
    its subject and the ``Kind`` choices."""

    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class SendOnceMail(models.Model):
    """The columns of a record's one mail, sent once by ``core.mail.send_once`` (ALL-5): who holds it and
    until when (a claim, ``core.claims``), how often it was tried, when it went, or why it did not (a
    reason kept for staff, never a link). A model that names its mail more precisely in the admin
    redeclares ``mail_sent_at`` or ``mail_error`` with its own label (the column stays the same); a second
    mail of one record has its own four columns under another prefix (``core.mail`` takes it as
    ``prefix``). The index of unsent rows its sweeper reads is declared on the model itself (an abstract
    base cannot name a partial index per model)."""

    mail_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    mail_attempts = models.PositiveIntegerField(default=0, editable=False)
    mail_sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
    mail_error = models.CharField(_("mail error"), max_length=300, blank=True)

    class Meta:
        abstract = True
