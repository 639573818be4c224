"""Placing an order for one end customer (ESD-2, ESD-7); cancelling one still waiting for stock (ESD-10)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, normalise_email
from accounts.services import address_is_portal_staff_or_partner, declared_domain_of
from catalog.models import Product
from core.tasking import enqueue_on_commit

from ..errors import OrderError
from ..models import Order, OrderEvent, OrderLine
from ..rules import cancel_refusal
from .states import S, locked_order, next_attempt, order_transition

MAX_UNITS_PER_LINE = 10_000


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: int


def end_customer_address(raw: str, field: str, reseller: Organisation) -> str:
    """A valid end-customer address that does not reach the reseller itself (ESD-7).

    Refused, however spelt (case, ``+tags``, quoted local parts, trailing dots, Unicode forms): addresses of
    members of reseller and distributor organisations and of staff, and addresses at a mail domain this
    reseller declared as its own. Members of customer organisations are end customers like any other.
    """
    email = normalise_email(raw)
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise OrderError("invalid_email", _("Enter a valid e-mail address."), field) from None
    domain = email.rpartition("@")[2]
    if domain.startswith("[") or "." not in domain.strip("."):
        # A domain literal (r@[203.0.113.7]) or a bare host name reaches whatever server it names, which no
        # comparison of addresses or declared domains can tell apart from the reseller's own (ESD-7).
        raise OrderError(
            "invalid_email",
            _("Enter an address at a mail domain, not at an IP address or a local host name."),
            field,
        )
    if address_is_portal_staff_or_partner(email):
        raise OrderError(
            "member_address",
            _(
                "This address belongs to a portal user of a reseller or of the "
                "distributor; keys go to the end customer's own address."
            ),
            field,
        )
    declared = declared_domain_of(reseller, email)
    if declared:
        raise OrderError(
            "own_domain_address",
            _(
                "Addresses at %(domain)s are declared as your organisation's own (Settings → Mail domains); "
                "keys go to the end customer's own address."
            )
            % {"domain": declared},
            field,
        )
    return email


def order_place(
    *, reseller: Organisation, placed_by: Any, end_customer_email: str, lines: Sequence[LineIn]
) -> Order:
    """Record an order for one end customer (ESD-2) and hand it to the fulfilment worker (ESD-3)."""
    if not reseller.is_reseller:
        raise OrderError("not_a_reseller", _("Only resellers can order."))
    email = end_customer_address(end_customer_email, "end_customer_email", reseller)

    merged: OrderedDict[int, int] = OrderedDict()
    for line in lines:
        if not 1 <= line.quantity <= MAX_UNITS_PER_LINE:
            raise OrderError(
                "invalid_quantity",
                _("Each quantity must be between 1 and %(max)d.") % {"max": MAX_UNITS_PER_LINE},
                "lines",
            )
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    if not merged:
        raise OrderError("no_lines", _("Add at least one product."), "lines")
    if any(q > MAX_UNITS_PER_LINE for q in merged.values()):
        raise OrderError(
            "invalid_quantity",
            _("Each quantity must be between 1 and %(max)d.") % {"max": MAX_UNITS_PER_LINE},
            "lines",
        )
    products = Product.objects.esd_orderable().in_bulk(list(merged))
    if len(products) != len(merged):
        raise OrderError(
            "product_not_orderable", _("Only ESD-eligible products can be ordered as ESD."), "lines"
        )

    with transaction.atomic():
        now = timezone.now()
        order = Order.objects.create(
            reseller=reseller,
            placed_by=placed_by,
            end_customer_email=email,
            created_at=now,
            updated_at=now,
            next_attempt_at=next_attempt(S.PLACED, now),
        )
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product_id=pid, quantity=qty) for pid, qty in merged.items()]
        )
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.PLACED,
            actor=placed_by,
            at=now,
            data={"lines": [{"sku": products[pid].sku, "quantity": qty} for pid, qty in merged.items()]},
        )
        enqueue_on_commit("orders.tasks.fulfil_order", order.pk)
    return order


@transaction.atomic
def order_cancel(*, organisation: Organisation, order_id: int, actor: Any) -> Order:
    """Cancel an order still waiting for stock (ESD-10). It holds no key, so nothing is released."""
    order = locked_order(organisation, order_id)
    refusal = cancel_refusal(order)
    if refusal is not None:
        raise refusal
    order_transition(order, S.CANCELLED, actor=actor, cancelled_at=timezone.now())
    return order
