"""Placing an order for one end customer (ESD-2, ESD-7); cancelling one still waiting for stock (ESD-10).

``order_quote`` is the placement's checks without the write: the confirmation step shows what
``order_place`` would record (prices, totals, whether the keys are in stock), and refuses what it would
refuse, before the reseller commits to an order that can never be returned (ESD-10).
"""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, normalise_email
from accounts.services import address_is_portal_staff_or_partner, declared_domain_of
from catalog.models import Product
from locker.selectors import stock_annotations

from ..errors import OrderError
from ..models import Order, OrderEvent, OrderLine, Totals, money
from ..rules import cancel_refusal
from .fulfilment import fulfilment_wake
from .states import S, locked_order, next_attempt, order_transition

MAX_UNITS_PER_LINE = 10_000
RESELLER_REFERENCE_MAX = 64


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: int
    # The net unit price the reseller was shown when confirming. When given, ``order_place`` refuses
    # (``price_changed``) if the product's price is no longer this, rather than keep a price nobody saw.
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class QuoteLine:
    """One line as the order would record it: the product's price now, and whether the pool holds every
    key the line needs now (never how many keys it holds)."""

    product: Product
    quantity: int
    unit_price: Decimal
    in_stock: bool

    @property
    def net_amount(self) -> Decimal:
        return money(self.unit_price * self.quantity)


@dataclass(frozen=True)
class OrderQuote:
    """What placing the order would record: the address and reference as they would be stored, the lines
    (one per product, quantities of repeated products added up) and the totals the invoice would show."""

    end_customer_email: str
    reseller_reference: str
    lines: list[QuoteLine]
    totals: Totals

    @property
    def all_in_stock(self) -> bool:
        return all(line.in_stock for line in self.lines)


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
                "Addresses at %(domain)s are declared as your organisation's own (see Mail domains in the "
                "menu); keys go to the end customer's own address."
            )
            % {"domain": declared},
            field,
        )
    return email


def reseller_reference_clean(raw: str | None) -> str:
    """The reseller's reference as stored: stripped, at most 64 characters, no control characters (it is
    printed on the invoice)."""
    reference = (raw or "").strip()
    if len(reference) > RESELLER_REFERENCE_MAX:
        raise OrderError(
            "invalid_reference",
            _("Your reference can have at most %(max)d characters.") % {"max": RESELLER_REFERENCE_MAX},
            "reseller_reference",
        )
    if any(unicodedata.category(char) == "Cc" for char in reference):
        raise OrderError(
            "invalid_reference", _("Your reference cannot contain control characters."), "reseller_reference"
        )
    return reference


def _checked(
    reseller: Organisation, end_customer_email: str, lines: Sequence[LineIn], reseller_reference: str | None
) -> tuple[str, str, OrderedDict[int, int]]:
    """The checks of ``order_place``: the address (ESD-2, ESD-7), the reference and the quantities, with
    the lines merged per product."""
    if not reseller.is_reseller:
        raise OrderError("not_a_reseller", _("Only resellers can order."))
    email = end_customer_address(end_customer_email, "end_customer_email", reseller)
    reference = reseller_reference_clean(reseller_reference)

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
    return email, reference, merged


def _not_orderable() -> OrderError:
    return OrderError(
        "product_not_orderable", _("Only ESD-eligible products can be ordered as ESD."), "lines"
    )


def order_quote(
    *,
    reseller: Organisation,
    end_customer_email: str,
    lines: Sequence[LineIn],
    reseller_reference: str | None = "",
) -> OrderQuote:
    """What ``order_place`` would record for this input now, or the ``OrderError`` it would raise.

    Writes nothing. One query for the products, their prices and whether the pool holds each line's
    quantity (``locker.selectors.stock_annotations``), however many lines.
    """
    email, reference, merged = _checked(reseller, end_customer_email, lines, reseller_reference)
    products = (
        Product.objects.esd_orderable()
        .annotate(keys_available=stock_annotations()["keys_available"])
        .in_bulk(list(merged))
    )
    if len(products) != len(merged):
        raise _not_orderable()
    quoted = [
        QuoteLine(
            product=products[pid],
            quantity=qty,
            unit_price=products[pid].unit_price,
            in_stock=products[pid].keys_available >= qty,  # type: ignore[attr-defined]
        )
        for pid, qty in merged.items()
    ]
    totals = Totals.of(
        (line.net_amount for line in quoted),
        vat_percent=Decimal(settings.INVOICE_VAT_PERCENT),
        currency=settings.INVOICE_CURRENCY,
    )
    return OrderQuote(end_customer_email=email, reseller_reference=reference, lines=quoted, totals=totals)


def order_place(
    *,
    reseller: Organisation,
    placed_by: Any,
    end_customer_email: str,
    lines: Sequence[LineIn],
    reseller_reference: str | None = "",
) -> Order:
    """Record an order for one end customer (ESD-2) and hand it to the fulfilment worker (ESD-3).

    Each line keeps the product's net price of this moment (``OrderLine.unit_price``), which the invoice
    uses. A line that says which price the reseller confirmed (``LineIn.unit_price``) is refused with
    ``price_changed`` if the price list no longer has it: the price kept is always the price read here.
    """
    email, reference, merged = _checked(reseller, end_customer_email, lines, reseller_reference)
    products = Product.objects.esd_orderable().in_bulk(list(merged))
    if len(products) != len(merged):
        raise _not_orderable()
    changed = sorted(
        {
            products[line.product_id].name
            for line in lines
            if line.unit_price is not None and line.unit_price != products[line.product_id].unit_price
        }
    )
    if changed:
        raise OrderError(
            "price_changed",
            _(
                "The price of %(products)s has changed since you reviewed the order. Check the new prices "
                "and confirm again."
            )
            % {"products": ", ".join(changed)},
            "lines",
        )

    with transaction.atomic():
        now = timezone.now()
        order = Order.objects.create(
            reseller=reseller,
            placed_by=placed_by,
            end_customer_email=email,
            reseller_reference=reference,
            created_at=now,
            updated_at=now,
            next_attempt_at=next_attempt(S.PLACED, now),
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(order=order, product_id=pid, quantity=qty, unit_price=products[pid].unit_price)
                for pid, qty in merged.items()
            ]
        )
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.PLACED,
            actor=placed_by,
            at=now,
            data={
                "lines": [
                    {"sku": products[pid].sku, "quantity": qty, "unit_price": str(products[pid].unit_price)}
                    for pid, qty in merged.items()
                ],
                **({"reseller_reference": reference} if reference else {}),
            },
        )
        fulfilment_wake()
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
