"""Asking the vendor for keys when the pool is short (ESD-4, ESD-5)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from core.tasking import enqueue_on_commit
from locker.services import keys_import

from ..alerts import staff_alert_raise
from ..models import Order, OrderEvent, VendorRequest
from ..vendor import VendorError, VendorTemporaryError, gateway

logger = logging.getLogger(__name__)


def vendor_requests_open(*, order: Order, short: list[tuple[int, int]]) -> None:
    """Record what the order lacks and ask the vendor for it once the transaction commits."""
    if not short:
        return
    VendorRequest.objects.bulk_create(
        [VendorRequest(order=order, product_id=pid, quantity=n) for pid, n in short], ignore_conflicts=True
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.VENDOR_REQUESTED,
        data={"products": {str(pid): n for pid, n in short}},
    )
    for request_id in VendorRequest.objects.filter(
        order=order, status=VendorRequest.Status.PENDING
    ).values_list("pk", flat=True):
        enqueue_on_commit("orders.tasks.request_vendor_keys", request_id)


def vendor_requests_resend(*, order: Order) -> int:
    """Send again the pending vendor requests of a waiting order that have not moved for ten sweep
    intervals (their message was lost with a killed worker or a restarted broker). Duplicates are harmless:
    the request row is locked while the vendor is asked, and a delivered request is not asked again."""

    stale = timezone.now() - timedelta(seconds=10 * settings.ORDER_SWEEP_INTERVAL)
    ids = list(
        VendorRequest.objects.filter(
            order=order, status=VendorRequest.Status.PENDING, updated_at__lt=stale
        ).values_list("pk", flat=True)
    )
    if ids:
        VendorRequest.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        for request_id in ids:
            enqueue_on_commit("orders.tasks.request_vendor_keys", request_id)
    return len(ids)


def vendor_request_run(*, request_id: int) -> str:
    """Fetch the keys of one request from the vendor and put them in the locker, once.

    The request row stays locked during the vendor call, so a task delivered twice asks the vendor once.
    A temporary vendor error is recorded and re-raised for the task to retry with backoff; a final one
    marks the request failed, visible to staff.
    """
    temporary: VendorTemporaryError | None = None
    with transaction.atomic():
        request = (
            VendorRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request_id, status=VendorRequest.Status.PENDING)
            .first()
        )
        if request is None:
            return "done-or-busy"
        product = Product.objects.get(pk=request.product_id)
        request.attempts += 1
        request.updated_at = timezone.now()
        try:
            keys = gateway().issue_keys(
                product=product,
                quantity=request.quantity,
                reference=f"order-{request.order_id}-{product.sku}",
            )
        except VendorTemporaryError as exc:
            request.last_error = str(exc)[:300]
            request.save(update_fields=["attempts", "last_error", "updated_at"])
            temporary = exc
        except VendorError as exc:
            vendor_request_failed(request=request, reason=str(exc))
            return request.status
        else:
            report = keys_import(product=product, lines=keys)
            del keys
            request.status = VendorRequest.Status.DELIVERED
            request.last_error = "" if not report.rejected else f"{report.rejected} keys rejected on import"
            request.save(update_fields=["attempts", "status", "last_error", "updated_at"])
            return request.status
    assert temporary is not None
    raise temporary


def vendor_request_failed(*, request: VendorRequest, reason: str) -> None:
    with transaction.atomic():
        VendorRequest.objects.filter(pk=request.pk).update(
            status=VendorRequest.Status.FAILED,
            last_error=reason[:300],
            updated_at=timezone.now(),
            attempts=request.attempts,
        )
        request.status = VendorRequest.Status.FAILED
        OrderEvent.objects.create(
            order_id=request.order_id,
            kind=OrderEvent.Kind.VENDOR_FAILED,
            data={"product": request.product_id, "reason": reason[:300]},
        )

        staff_alert_raise(
            kind="vendor_failed",
            order_id=request.order_id,
            message=f"The vendor did not supply {request.quantity} keys of product {request.product_id} "
            f"for order #{request.order_id}: {reason[:250]}",
        )
    logger.warning("Vendor request %s failed for good: %s", request.pk, reason[:300])
