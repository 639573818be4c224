"""The vault: product keys, sealed, and the record of every reveal."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MASK = "•••••-•••••-•••••-•••••-"


class ProductKeyQuerySet(models.QuerySet["ProductKey"]):
    def for_owner(self, user: Any) -> ProductKeyQuerySet:
        """The only way to reach a key as its owner: the locker account it was delivered to."""
        return self.filter(owner=user, status__in=ProductKey.DELIVERED)

    def available(self) -> ProductKeyQuerySet:
        return self.filter(status=ProductKey.Status.AVAILABLE)


class ProductKey(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        ALLOCATED = "allocated", _("Allocated")
        REVEALED = "revealed", _("Revealed")

    DELIVERED = (Status.ALLOCATED, Status.REVEALED)
    SEAL_KIND = "productkey"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="keys")
    # AES-256-GCM ciphertext under a per-key data key; the data key wrapped by a master key (LOCK-1).
    ciphertext = models.BinaryField(editable=False)
    wrapped_key = models.BinaryField(editable=False)
    master_key_id = models.CharField(max_length=16, db_index=True, editable=False)
    # Keyed hash of the normalised key: duplicates are found without decrypting (LOCK-5).
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
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
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    allocated_at = models.DateTimeField(_("allocated at"), null=True, blank=True)
    revealed_at = models.DateTimeField(_("first revealed at"), null=True, blank=True)

    objects = ProductKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("product key")
        verbose_name_plural = _("product keys")
        indexes = [
            models.Index(fields=["product", "status", "imported_at"], name="key_alloc_idx"),
            models.Index(fields=["owner", "status"], name="key_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.masked}"

    @property
    def masked(self) -> str:
        return MASK + self.last5


class RevealEvent(models.Model):
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
        return f"{self.key_id} revealed by {self.user_id} at {self.at:%Y-%m-%d %H:%M:%S}"
