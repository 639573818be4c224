"""Webhook endpoints of reseller organisations, and every delivery with each attempt's answer."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EVENT_TYPES = [
    ("order.fulfilled", _("Order fulfilled")),
    ("order.awaiting_stock", _("Order waiting for stock")),
    ("order.welcome_mail_failed", _("Welcome mail failed")),
    ("order.keys_accessed", _("Customer opened the keys")),
    ("order.cancelled", _("Order cancelled")),
]
# Which order events become which webhook events.
ORDER_EVENT_TYPES = {
    "fulfilled": "order.fulfilled",
    "awaiting_stock": "order.awaiting_stock",
    "welcome_mail_failed": "order.welcome_mail_failed",
    "keys_accessed": "order.keys_accessed",
    "cancelled": "order.cancelled",
}


class EndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def for_org(self, organisation: Any) -> EndpointQuerySet:
        return self.filter(organisation=organisation)


class WebhookEndpoint(models.Model):
    SEAL_KIND = "webhooksecret"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Events recorded from this moment on are delivered: set when the endpoint is created and again when it
    # is re-enabled, so it gets nothing from before it existed or from while it was disabled.
    active_since = models.DateTimeField(_("active since"), default=timezone.now)
    # The signing secret, sealed by the locker like any credential.
    secret_ciphertext = models.BinaryField(editable=False)
    secret_wrapped_key = models.BinaryField(editable=False)
    secret_master_key_id = models.CharField(max_length=16, editable=False)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class DispatchedEvent(models.Model):
    """Marks an order event as turned into deliveries (the outbox's "done" flag)."""

    order_event = models.OneToOneField(
        "orders.OrderEvent", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    dispatched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"event {self.order_event_id} dispatched"


class DeliveryQuerySet(models.QuerySet["WebhookDelivery"]):
    def for_org(self, organisation: Any) -> DeliveryQuerySet:
        return self.filter(endpoint__organisation=organisation)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    class FailedBecause(models.TextChoices):
        """Why a delivery failed without its last attempt saying so."""

        NOTHING = "", _("The last attempt was not answered with 2xx")
        ENDPOINT_DISABLED = (
            "endpoint_disabled",
            _("The endpoint was disabled until the retry window ended; nothing was sent."),
        )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40, help_text=_("The same for redeliveries of one event."))
    event_type = models.CharField(max_length=40, choices=EVENT_TYPES)
    source_event = models.ForeignKey(
        "orders.OrderEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    failed_because = models.CharField(
        max_length=30, choices=FailedBecause.choices, default=FailedBecause.NOTHING, blank=True
    )
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "source_event"],
                name="delivery_once_per_endpoint_event",
                condition=models.Q(redelivery_of__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # A short excerpt of the receiver's answer, printable characters only; shown escaped (issue #10).
    response_body = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        at = timezone.localtime(self.at)
        return f"{self.delivery_id} at {at:%H:%M:%S}: {self.status_code or self.error}"
