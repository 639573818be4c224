"""Correcting a wrong end-customer address (ESD-14): never to the reseller itself (ESD-7), never silently."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from accounts.services import locker_account_for_email
from core.tasking import enqueue_on_commit
from locker.models import ProductKey
from locker.services import keys_reassign

from ..alerts import staff_alert_raise
from ..errors import OrderError
from ..models import EmailCorrection, Order, OrderEvent
from ..rules import correct_email_refusal, correction_refusal, pending_correction
from .placement import end_customer_address
from .states import MAIL_STATES, C, M, S, correction_transition, locked_order


def _lock_correction_subjects(order: Order) -> tuple[list[Any], Any]:
    """Lock the order's keys and its current locker account (the order row is locked by the caller), so a
    concurrent reveal either happens first (and the correction is refused) or finds the key moved."""

    key_ids = list(
        ProductKey.objects.filter(allocation__line__order=order)
        .select_for_update()
        .order_by("id")
        .values_list("id", flat=True)
    )
    old_account = (
        User.objects.select_for_update().filter(pk=order.end_customer_id).first()
        if order.end_customer_id
        else None
    )
    order.end_customer = old_account
    return key_ids, old_account


def _kill_links(order: Order, account: Any) -> None:
    """ESD-14: the links mailed to the old address die: this order's welcome links (orders.tokens) and the
    account's reset links. Welcome links other resellers' orders mailed to the same account stay (ESD-15)."""

    Order.objects.filter(pk=order.pk).update(link_generation=F("link_generation") + 1)
    if account is not None:
        User.objects.filter(pk=account.pk).update(link_generation=F("link_generation") + 1)


def _apply_correction(
    order: Order, correction: EmailCorrection, key_ids: list[Any], old_account: Any, actor: Any
) -> None:
    """Move the order and its keys to the corrected address (the caller holds every lock)."""
    email, old_email = correction.to_email, order.end_customer_email
    now = timezone.now()
    fields: dict[str, Any] = {"end_customer_email": email, "updated_at": now}
    saved: list[str] = []
    if order.status == S.FULFILLED:
        new_account = locker_account_for_email(email=email)
        keys_reassign(
            key_ids=key_ids,
            new_owner=new_account,
            actor=actor,
            data={"order": order.pk, "from": old_email, "to": email},
        )
        fields.update(
            end_customer=new_account,
            # The new account's customer has done nothing yet (what the old one did stays in the history).
            customer_password_set_at=None,
            customer_signed_in_at=None,
        )
        # The welcome mail starts again from nothing: none goes to the new address by itself.
        saved = MAIL_STATES.apply(
            order,
            M.NOT_SENT,
            welcome_mail_sent_at=None,
            welcome_mail_error="",
            next_attempt_at=None,
        )
        _kill_links(order, old_account)
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=[*fields, *saved])
    data: dict[str, Any] = {"from": old_email, "to": email, "keys_moved": len(key_ids)}
    if actor is not None and actor.pk != correction.requested_by_id:
        data["requested_by"] = correction.requested_by_id
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CORRECTED, actor=actor, at=now, data=data)


@transaction.atomic
def order_correct_email(
    *, organisation: Organisation, order_id: int, actor: Any, new_email: str
) -> EmailCorrection:
    """Correct a wrong end-customer address, exactly as ESD-14 allows; returns the correction.

    Never to the reseller itself (ESD-7's address rules), never once the mail sent to the old address was
    used, never in silence: the old address is told by a notice without a link, whatever happens next.
    Applied at once (keys move to the new address's locker, links sent to the old one die, no mail goes to
    the new one), unless it comes after the welcome mail was accepted by the mail server and
    ``ESD_CORRECTION_REVIEW`` is on: then the old links die now and the keys move only when staff approve
    (``correction_approve``), after the same checks again.
    """
    email = end_customer_address(new_email, "new_email", organisation)
    order = locked_order(organisation, order_id)
    if email == order.end_customer_email:
        raise OrderError("same_email", _("This is already the order's address."), "new_email")
    key_ids, old_account = _lock_correction_subjects(order)
    refusal = correct_email_refusal(order, pending=pending_correction(order))
    if refusal is not None:
        raise refusal
    if order.welcome_mail_claimed_until and order.welcome_mail_claimed_until > timezone.now():
        # A sender is talking to the mail server right now: whether the mail was accepted (and so whether
        # staff must review) is known in a moment. A claim taken after this lock sees the correction.
        raise OrderError(
            "mail_in_flight", _("The welcome mail is being sent right now. Try again in a minute.")
        )

    after_mail = order.events.filter(kind=OrderEvent.Kind.WELCOME_MAIL_SENT).exists()
    review = after_mail and order.status == S.FULFILLED and settings.ESD_CORRECTION_REVIEW
    correction = EmailCorrection.objects.create(
        order=order,
        from_email=order.end_customer_email,
        to_email=email,
        requested_by=actor,
        after_welcome_mail=after_mail,
        status=C.PENDING_REVIEW if review else C.APPLIED,
        notice_next_attempt_at=timezone.now() + timedelta(seconds=settings.ORDER_SWEEP_INTERVAL),
    )
    if review:
        _kill_links(order, old_account)
        now = timezone.now()
        if order.welcome_mail_status == M.QUEUED:  # a resend not yet sent stays unsent
            MAIL_STATES.move(order, M.NOT_SENT, now=now, next_attempt_at=None, updated_at=now)
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.CORRECTION_REQUESTED,
            actor=actor,
            at=now,
            data={"from": correction.from_email, "to": email, "correction": correction.pk},
        )

        staff_alert_raise(
            kind="correction_review",
            order_id=order.pk,
            message=f"{organisation.name} asks to move order #{order.pk} from {correction.from_email} to "
            f"{email} after the welcome mail went out; approve or refuse it in Address corrections.",
        )
    else:
        _apply_correction(order, correction, key_ids, old_account, actor)
    enqueue_on_commit("orders.tasks.send_correction_notice", correction.pk)
    return correction


@transaction.atomic
def correction_approve(*, correction_id: int, actor: Any) -> EmailCorrection:
    """Staff approve a correction held for review: ESD-14's check and ESD-7's address rules run again now,
    so a customer who used the mail meanwhile (a reveal, a password) keeps the keys, and the correction is
    refused with the reason instead."""
    correction = EmailCorrection.objects.select_for_update().get(pk=correction_id)
    if correction.status != C.PENDING_REVIEW:
        raise OrderError("correction_decided", _("This correction has already been decided."))
    order = Order.objects.select_for_update().select_related("reseller").get(pk=correction.order_id)
    key_ids, old_account = _lock_correction_subjects(order)
    refusal = correction_refusal(order)
    if refusal is None:
        try:
            end_customer_address(correction.to_email, "new_email", order.reseller)
        except OrderError as exc:
            refusal = exc.message
    if refusal:
        _refuse(correction, order, actor, refusal)
        return correction
    _apply_correction(order, correction, key_ids, old_account, actor)
    correction_transition(correction, C.APPLIED, actor=actor)
    return correction


@transaction.atomic
def correction_refuse(*, correction_id: int, actor: Any, reason: str = "") -> EmailCorrection:
    """Staff refuse a correction held for review; the order keeps its address and keys."""
    correction = EmailCorrection.objects.select_for_update().get(pk=correction_id)
    if correction.status != C.PENDING_REVIEW:
        raise OrderError("correction_decided", _("This correction has already been decided."))
    order = Order.objects.select_for_update().get(pk=correction.order_id)
    _refuse(correction, order, actor, reason or _("Refused by the distributor's staff."))
    return correction


def _refuse(correction: EmailCorrection, order: Order, actor: Any, reason: str) -> None:
    correction_transition(correction, C.REFUSED, actor=actor, outcome=reason)
    OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.CORRECTION_REFUSED,
        actor=actor,
        data={"to": correction.to_email, "reason": reason[:300], "correction": correction.pk},
    )


def correction_notice_failed(*, correction_id: int, reason: str) -> None:
    """Give up telling the previous address, visibly: staff are alerted (they can reach the customer)."""

    with transaction.atomic():
        given_up = EmailCorrection.objects.filter(
            pk=correction_id, notice_sent_at__isnull=True, notice_next_attempt_at__isnull=False
        ).update(notice_next_attempt_at=None, notice_claimed_until=None)
        if not given_up:
            return
        correction = EmailCorrection.objects.get(pk=correction_id)
        staff_alert_raise(
            kind="correction_notice_failed",
            order_id=correction.order_id,
            message=f"The notice of the address correction of order #{correction.order_id} could not be "
            f"delivered to its previous address {correction.from_email}: {reason[:200]}",
        )
