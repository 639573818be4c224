"""Webhooks: endpoints, turning order events into signed deliveries, delivering them with retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from core.backoff import backoff
from core.tasking import enqueue_on_commit
from locker import vault
from orders.models import Allocation, Order, OrderEvent

from . import targets
from .models import (
    EVENT_TYPES,
    ORDER_EVENT_TYPES,
    DispatchedEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from .targets import WebhookError

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "Portal-Signature"
VALID_EVENTS = {code for code, _label in EVENT_TYPES}


# --- signing ------------------------------------------------------------------------------------------
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """The recipe a receiver follows (documented in the README): check the time, then the MAC."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret, opened by the vault (so a master-key rotation covers it, LOCK-3)."""
    return vault.open_from(endpoint, WebhookEndpoint.SEAL_KIND)


# --- endpoints ---------------------------------------------------------------------------------------
def endpoint_create(
    *, organisation: Organisation, user: Any, url: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; the signing secret is returned once and kept sealed."""
    events = sorted(set(events))
    if not events or not set(events) <= VALID_EVENTS:
        raise WebhookError("invalid_events", _("Choose at least one known event."), "events")
    targets.resolve(url)  # refused before anything is stored (issue #10)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(organisation=organisation, url=url, events=events, created_by=user)
    with transaction.atomic():  # never an endpoint without its secret
        endpoint.save()  # the seal is bound to the primary key (LOCK-2)
        vault.seal_into(endpoint, WebhookEndpoint.SEAL_KIND, secret)
        endpoint.save(update_fields=list(vault.columns(WebhookEndpoint.SEAL_KIND)))
    return endpoint, secret


def endpoint_set_active(*, organisation: Organisation, endpoint_id: int, active: bool) -> WebhookEndpoint:
    """Disable or re-enable an endpoint.

    Disabled, it is not subscribed: nothing is posted to it, and events recorded meanwhile never become
    deliveries. Deliveries already owed to it wait (no attempt is made or counted); re-enabled within
    ``WEBHOOK_RETRY_HOURS`` of their creation they are sent at once, later they are failed by the sweep.
    Re-enabling starts its subscription again from now (``active_since``).
    """
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.for_org(organisation).select_for_update().get(pk=endpoint_id)
        if endpoint.active == active:
            return endpoint
        endpoint.active = active
        fields = ["active"]
        if active:
            endpoint.active_since = now
            fields.append("active_since")
        endpoint.save(update_fields=fields)
        if active:
            _fail_held(now=now, endpoint=endpoint)
            # Held deliveries are due at once; the sweep hands them out (nothing posts inside this request).
            WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
                next_attempt_at=now
            )
    return endpoint


# --- dispatch: order events → deliveries ----------------------------------------------------------
def order_payload(order: Order) -> dict[str, Any]:
    """What a webhook says about an order: the same facts the reseller sees, never a key (ESD-7)."""
    opened = Allocation.objects.filter(line__order=order, key__revealed_at__isnull=False).exists()
    return {
        "id": order.pk,
        "status": order.status,
        "end_customer_email": order.end_customer_email,
        "created_at": order.created_at.isoformat(),
        "fulfilled_at": order.fulfilled_at.isoformat() if order.fulfilled_at else None,
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "welcome_mail_status": order.welcome_mail_status,
        "keys_accessed": opened,
        "lines": [
            {"sku": line.product.sku, "quantity": line.quantity}
            for line in order.lines.select_related("product")
        ],
    }


def dispatch_events(*, limit: int = 500) -> int:
    """Turn recorded order events into one delivery per subscribed endpoint, each event exactly once."""
    since = timezone.now() - timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    created = 0
    with transaction.atomic():
        events = list(
            OrderEvent.objects.filter(kind__in=list(ORDER_EVENT_TYPES), at__gte=since)
            .annotate(done=Exists(DispatchedEvent.objects.filter(order_event=OuterRef("pk"))))
            .filter(done=False)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .order_by("at", "id")[:limit]
        )
        if not events:
            return 0
        orgs = {e.order.reseller_id for e in events}
        endpoints: dict[int, list[WebhookEndpoint]] = {}
        for endpoint in WebhookEndpoint.objects.filter(organisation_id__in=orgs, active=True):
            endpoints.setdefault(endpoint.organisation_id, []).append(endpoint)
        deliveries = []
        for event in events:
            event_type = ORDER_EVENT_TYPES[event.kind]
            # Only events from while the endpoint was subscribed: never from before it was created or from
            # while it was disabled (issue #11, item 5).
            targets = [
                e
                for e in endpoints.get(event.order.reseller_id, [])
                if event_type in e.events and event.at >= e.active_since
            ]
            if not targets:
                continue
            body = {
                "id": f"evt_{event.pk}",
                "type": event_type,
                "created_at": event.at.isoformat(),
                "data": {"order": order_payload(event.order)},
            }
            deliveries += [
                WebhookDelivery(
                    endpoint=t,
                    event_id=f"evt_{event.pk}",
                    event_type=event_type,
                    source_event=event,
                    payload=body,
                    next_attempt_at=timezone.now(),
                )
                for t in targets
            ]
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        DispatchedEvent.objects.bulk_create(
            [DispatchedEvent(order_event=e) for e in events], ignore_conflicts=True
        )
        for delivery in deliveries:
            enqueue_on_commit("webhooks.tasks.deliver_webhook", str(delivery.pk))
        created = len(deliveries)
    return created


# --- delivery ----------------------------------------------------------------------------------------
def _backoff(attempt: int) -> float:
    """30 s after the first failed attempt, doubling up to an hour."""
    return backoff(30, attempt - 1)


def _expired(delivery: WebhookDelivery, now: Any) -> bool:
    return bool(now >= delivery.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS))


def _fail_held(*, now: Any, endpoint: WebhookEndpoint | None = None) -> int:
    """Fail the pending deliveries of disabled endpoints (or of ``endpoint``) whose retry window is over."""
    held = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING,
        created_at__lte=now - timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    held = held.filter(endpoint=endpoint) if endpoint is not None else held.filter(endpoint__active=False)
    return held.update(
        status=WebhookDelivery.Status.FAILED,
        failed_because=WebhookDelivery.FailedBecause.ENDPOINT_DISABLED,
        next_attempt_at=None,
    )


def deliver(*, delivery_id: str) -> tuple[str, float]:
    """POST one delivery, signed; record the answer; schedule the next try or give up after a day.

    Claimed with a conditional update first, so duplicates of the task never post twice at once.
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
    ).update(claimed_until=now + timedelta(seconds=settings.WEBHOOK_TIMEOUT * 3 + 30))
    if not claimed:
        return "done-or-busy", 0.0
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        # Held, not tried: no attempt is recorded or counted, and the task does not reschedule ("held");
        # the sweep skips it until the endpoint is enabled again or fails it once the window has passed.
        held = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING)
        if _expired(delivery, now):
            held.update(
                status=WebhookDelivery.Status.FAILED,
                failed_because=WebhookDelivery.FailedBecause.ENDPOINT_DISABLED,
                next_attempt_at=None,
                claimed_until=None,
            )
            return str(WebhookDelivery.Status.FAILED), 0.0
        held.update(claimed_until=None)
        return "held", 0.0
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    started = time.monotonic()
    status_code, text, error, permanent = None, "", "", False
    try:
        try:
            secret = endpoint_secret(endpoint)
        except vault.VaultError as exc:
            # A master key removed before `locker_rewrap` reported it unused (LOCK-3): nothing is sent
            # unsigned; the delivery retries (restoring the key makes it go out) and staff see the error.
            logger.error("Webhook endpoint %s: the signing secret could not be opened (%s)", endpoint.pk, exc)
            raise WebhookError(
                "secret_unavailable",
                _("The signing secret could not be opened; please contact the distributor."),
            ) from None
        # Resolved and checked again now (DNS may have changed), and sent to exactly the checked address.
        target = targets.resolve(endpoint.url)
        answer = targets.post(
            target,
            body=body,
            timeout=settings.WEBHOOK_TIMEOUT,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "reseller-portal-webhooks/1",
                "Portal-Event-Id": delivery.event_id,
                "Portal-Event-Type": delivery.event_type,
                "Portal-Delivery-Id": str(delivery.pk),
                SIGNATURE_HEADER: sign(secret, timestamp, body),
            },
        )
        status_code, text = answer.status, answer.excerpt
    except WebhookError as exc:
        error, permanent = exc.message, exc.code in targets.PERMANENT
    duration = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    expired = _expired(delivery, timezone.now())
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=status_code,
            response_body=text,
            error=error[:300],
            duration_ms=duration,
        )
        fields: dict[str, Any] = {
            "attempts": attempts,
            "claimed_until": None,
            "last_status_code": status_code,
        }
        if ok:
            fields.update(
                status=WebhookDelivery.Status.SUCCEEDED, delivered_at=timezone.now(), next_attempt_at=None
            )
        elif expired or permanent:
            fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        else:
            # The task schedules the retry; the sweep only looks once that is overdue (never a second chain).
            grace = _backoff(attempts) + settings.ORDER_SWEEP_INTERVAL
            fields.update(next_attempt_at=timezone.now() + timedelta(seconds=grace))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return str(fields.get("status", "retry")), _backoff(attempts)


def deliveries_due(*, limit: int = 500) -> list[str]:
    """Pending deliveries whose next try is due and that nobody holds; each is pushed back meanwhile.

    Deliveries of a disabled endpoint are never due (so the sweep does not spin on them); the sweep fails
    those whose retry window has ended, without an attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        _fail_held(now=now)
        due = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=due).update(next_attempt_at=now + timedelta(minutes=5))
    return [str(pk) for pk in due]


def redeliver(*, organisation: Organisation, delivery_id: str) -> WebhookDelivery:
    """Send an event again as a new delivery (same event id, so receivers can de-duplicate).

    Refused while the endpoint is disabled: a disabled endpoint is sent nothing (issue #11, item 5).
    """
    original = WebhookDelivery.objects.for_org(organisation).get(pk=delivery_id)
    with transaction.atomic():
        # Locked, so a redelivery is never queued behind a concurrent "Disable" that already committed.
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=original.endpoint_id)
        if not endpoint.active:
            raise WebhookError(
                "endpoint_disabled", _("This endpoint is disabled: enable it before redelivering an event.")
            )
        copy = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=original.event_id,
            event_type=original.event_type,
            source_event=original.source_event,
            payload=original.payload,
            redelivery_of=original,
            next_attempt_at=timezone.now(),
        )
        enqueue_on_commit("webhooks.tasks.deliver_webhook", str(copy.pk))
    return copy
