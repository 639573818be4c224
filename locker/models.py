"""The vault: product keys, sealed, and the record of every reveal."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel, Event

MASK = "•••••-•••••-•••••-•••••-"


class ProductKeyQuerySet(models.QuerySet["ProductKey"]):
    def for_owner(self, user: Any) -> ProductKeyQuerySet:
        """The only way to reach a key as its owner: the locker account it was delivered to.

        Includes keys whose material was destroyed after retention (ESD-11): the record stays visible.
        """
        return self.filter(owner=user, status__in=ProductKey.DELIVERED + (ProductKey.Status.PURGED,))

    def revealable_by(self, user: Any) -> ProductKeyQuerySet:
        return self.filter(owner=user, status__in=ProductKey.DELIVERED)

    def available(self) -> ProductKeyQuerySet:
        return self.filter(status=ProductKey.Status.AVAILABLE)


class ProductKey(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        ALLOCATED = "allocated", _("Allocated")
        REVEALED = "revealed", _("Revealed")
        PURGED = "purged", _("Destroyed after retention")

    DELIVERED = (Status.ALLOCATED, Status.REVEALED)
    SEAL_KIND = "productkey"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own (nor owner's): key_alloc_idx and key_locker_idx start with them. Every index of
    # this table is written for each imported key, so the table has only those its queries use.
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="keys", db_index=False
    )
    # AES-256-GCM ciphertext under a per-key data key; the data key wrapped by a master key (LOCK-1).
    ciphertext = models.BinaryField(editable=False)
    wrapped_key = models.BinaryField(editable=False)
    # Not indexed: it is only ever filtered by "not the current key" (locker_rewrap), which no index serves.
    master_key_id = models.CharField(max_length=16, editable=False)
    # Keyed hash of the normalised key: duplicates are found without decrypting (LOCK-5). Unique by a
    # constraint in Meta rather than unique=True, which on PostgreSQL adds a second index for LIKE.
    fingerprint = models.CharField(max_length=64, editable=False)
    # The last five characters, the only part staff ever see (ESD-8).
    last5 = models.CharField(max_length=5, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.AVAILABLE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="locker_keys",
        verbose_name=_("owner"),
        db_index=False,
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    allocated_at = models.DateTimeField(_("allocated at"), null=True, blank=True)
    revealed_at = models.DateTimeField(_("first revealed at"), null=True, blank=True)
    purged_at = models.DateTimeField(_("key material destroyed at"), null=True, blank=True)

    objects = ProductKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("product key")
        verbose_name_plural = _("product keys")
        indexes = [
            models.Index(fields=["product", "status", "imported_at"], name="key_alloc_idx"),
            # A customer's keys in locker order (locker.selectors): each page reads just its own rows.
            models.Index(fields=["owner", "-allocated_at", "-product", "-id"], name="key_locker_idx"),
            models.Index(fields=["status", "allocated_at"], name="key_retention_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["fingerprint"], name="key_fingerprint_unique")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.masked}"

    @property
    def masked(self) -> str:
        return MASK + self.last5

    def available_until(self) -> Any:
        """ESD-11: the last moment the key can be revealed; None while it is not delivered."""

        if self.allocated_at is None:
            return None
        return ProductKey.retention_end(self.allocated_at)

    @staticmethod
    def retention_end(delivered_at: datetime) -> datetime:
        """ESD-11: when a key delivered at ``delivered_at`` stops being retrievable (its material goes)."""
        return delivered_at + timedelta(days=settings.LOCKER_RETENTION_DAYS)


class RevealEvent(AppendOnlyModel):
    """LOCK-4: who saw which key, when, from where. Written in the reveal's own transaction."""

    key = models.ForeignKey(ProductKey, on_delete=models.PROTECT, related_name="reveals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        verbose_name = _("reveal event")
        verbose_name_plural = _("reveal events")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.key_id} revealed by {self.user_id} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class KeyEvent(Event):
    """What happened to a key besides reveals: moved to a corrected address (ESD-14), destroyed (ESD-11)."""

    class Kind(models.TextChoices):
        REASSIGNED = "reassigned", _("Moved to another locker account")
        PURGED = "purged", _("Key material destroyed after retention")

    key = models.ForeignKey(ProductKey, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        verbose_name = _("key event")
        verbose_name_plural = _("key events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["key", "at"], name="keyevent_key_idx")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.kind} at {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"


class KeyImport(models.Model):
    """A bulk import handed to a worker (LOCK-5). The uploaded file is kept sealed until it is processed,
    then destroyed; what stays is the report."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    SEAL_KIND = "keyimport"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="key_imports", verbose_name=_("product")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("uploaded by"),
    )
    filename = models.CharField(_("file"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    total_lines = models.PositiveIntegerField(_("lines"), default=0)
    processed_lines = models.PositiveIntegerField(_("lines processed"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicate_lines = models.JSONField(_("duplicate lines"), default=list, blank=True)
    malformed_lines = models.JSONField(_("malformed lines"), default=list, blank=True)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    malformed = models.PositiveIntegerField(_("malformed"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    # The uploaded file, sealed like a key; emptied when the import ends.
    payload = models.BinaryField(editable=False, default=b"")
    payload_key = models.BinaryField(editable=False, default=b"")
    payload_master_key_id = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        verbose_name = _("key import")
        verbose_name_plural = _("key imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename or self.pk} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed_lines / self.total_lines) if self.total_lines else 0
