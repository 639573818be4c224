"""Invoices (ESD-6): issued inside the fulfilment transaction, numbered without gaps."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.sequences import take_numbers

from ..models import Invoice, InvoiceLine, InvoiceSequence, Order, OrderLine, Totals


def invoices_issue(
    *, orders: Sequence[Order], lines: dict[int, list[OrderLine]] | None = None
) -> list[Invoice]:
    """Issue one invoice per order, numbered one after another in the order given.

    Must run inside the transaction that fulfils the orders, so an invoice exists exactly when its order is
    fulfilled. The year's sequence row is locked until that transaction ends: concurrent fulfilments take
    numbers one after another, and a rolled-back fulfilment gives its numbers back, so there are no gaps.
    A batch of orders takes the lock once. ``lines`` (order id → lines with their products) saves a query
    when the caller has them; each order's ``reseller`` should be loaded already.

    Each line is invoiced at the price it kept when the order was placed (``OrderLine.unit_price``, what
    the reseller confirmed), never the price list of the day of fulfilment. The buyer is the reseller with
    its name, tax number and postal address as they stand today.
    """
    assert transaction.get_connection().in_atomic_block, "invoices_issue needs the fulfilment transaction"
    if not orders:
        return []
    if lines is None:
        lines = {}
        for line in OrderLine.objects.filter(order__in=orders).select_related("product"):
            lines.setdefault(line.order_id, []).append(line)
    now = timezone.now()
    year = timezone.localtime(now).year
    first = take_numbers(InvoiceSequence, year=year, count=len(orders))

    vat_percent = Decimal(settings.INVOICE_VAT_PERCENT)
    seller = {
        "name": settings.INVOICE_ISSUER,
        "address": settings.INVOICE_ISSUER_ADDRESS,
        "tax_id": settings.INVOICE_ISSUER_TAX_ID,
    }
    invoices, rows_of = [], []
    for number, order in enumerate(orders, start=first):
        rows = [
            InvoiceLine(
                sku=line.product.sku,
                description=line.product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net_amount=line.net_amount,
            )
            for line in sorted(lines.get(order.pk, []), key=lambda line: line.pk)
        ]
        totals = Totals.of(
            (r.net_amount for r in rows), vat_percent=vat_percent, currency=settings.INVOICE_CURRENCY
        )
        reseller = order.reseller
        invoices.append(
            Invoice(
                order=order,
                reseller=reseller,
                year=year,
                sequence=number,
                number=f"ESD/{year}/{number:06d}",
                issued_at=now,
                currency=totals.currency,
                vat_percent=vat_percent,
                net_total=totals.net,
                vat_total=totals.vat,
                gross_total=totals.gross,
                seller=seller,
                buyer={"name": reseller.name, "tax_id": reseller.tax_id, "address": reseller.postal_address},
            )
        )
        rows_of.append(rows)
    Invoice.objects.bulk_create(invoices)
    for invoice, rows in zip(invoices, rows_of, strict=True):
        for row in rows:
            row.invoice = invoice
    InvoiceLine.objects.bulk_create([row for rows in rows_of for row in rows])
    return invoices
