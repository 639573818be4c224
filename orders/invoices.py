"""Invoices (ESD-6): issued inside the fulfilment transaction, numbered without gaps, rendered as PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import Invoice, InvoiceLine, InvoiceSequence, Order, OrderLine

CENT = Decimal("0.01")
_FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def invoices_issue(
    *, orders: Sequence[Order], lines: dict[int, list[OrderLine]] | None = None
) -> list[Invoice]:
    """Issue one invoice per order, numbered one after another in the order given.

    Must run inside the transaction that fulfils the orders, so an invoice exists exactly when its order is
    fulfilled. The year's sequence row is locked until that transaction ends: concurrent fulfilments take
    numbers one after another, and a rolled-back fulfilment gives its numbers back, so there are no gaps.
    A batch of orders takes the lock once. ``lines`` (order id → lines with their products) saves a query
    when the caller has them; each order's ``reseller`` should be loaded already.
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
    InvoiceSequence.objects.bulk_create([InvoiceSequence(year=year)], ignore_conflicts=True)
    sequence = InvoiceSequence.objects.select_for_update().get(year=year)
    first = sequence.last_number + 1
    sequence.last_number += len(orders)
    sequence.save(update_fields=["last_number"])

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
                unit_price=line.product.unit_price,
                net_amount=_money(line.product.unit_price * line.quantity),
            )
            for line in sorted(lines.get(order.pk, []), key=lambda line: line.pk)
        ]
        net = sum((r.net_amount for r in rows), Decimal("0"))
        vat = _money(net * vat_percent / 100)
        reseller = order.reseller
        invoices.append(
            Invoice(
                order=order,
                reseller=reseller,
                year=year,
                sequence=number,
                number=f"ESD/{year}/{number:06d}",
                issued_at=now,
                currency=settings.INVOICE_CURRENCY,
                vat_percent=vat_percent,
                net_total=net,
                vat_total=vat,
                gross_total=net + vat,
                seller=seller,
                buyer={"name": reseller.name, "tax_id": reseller.tax_id},
            )
        )
        rows_of.append(rows)
    Invoice.objects.bulk_create(invoices)
    for invoice, rows in zip(invoices, rows_of, strict=True):
        for row in rows:
            row.invoice = invoice
    InvoiceLine.objects.bulk_create([row for rows in rows_of for row in rows])
    return invoices


@lru_cache(maxsize=1)
def _font() -> tuple[str, str]:
    """A font with Central European letters when the system has one (DejaVu), else reportlab's own."""
    # reportlab is imported only when a PDF is drawn (not a cycle: it keeps it out of every other process).
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for path in _FONT_CANDIDATES:
        if Path(path).exists():
            bold = path.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
            pdfmetrics.registerFont(TTFont("PortalSans", path))
            pdfmetrics.registerFont(TTFont("PortalSans-Bold", bold if Path(bold).exists() else path))
            return "PortalSans", "PortalSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF document (reportlab). Lists products and quantities, never a key."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _font()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13)
    title = ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{_('Invoice')} {invoice.number}",
        author=invoice.seller.get("name", ""),
    )
    cur = invoice.currency

    def amount(value: Decimal) -> str:
        return f"{value:,.2f} {cur}".replace(",", " ")

    with translation.override(settings.LANGUAGE_CODE):
        seller, buyer = invoice.seller, invoice.buyer
        story = [
            Paragraph(f"{_('Invoice')} {invoice.number}", title),
            Paragraph(
                f"{_('Issued')}: {date_format(timezone.localtime(invoice.issued_at), 'DATE_FORMAT')}"
                f" · {_('Order')} #{invoice.order_id}",
                body,
            ),
            Spacer(1, 6 * mm),
        ]
        parties = Table(
            [
                [Paragraph(f"<b>{_('Seller')}</b>", body), Paragraph(f"<b>{_('Buyer')}</b>", body)],
                [
                    Paragraph(
                        f"{seller.get('name', '')}<br/>{seller.get('address', '')}<br/>"
                        f"{_('Tax number')}: {seller.get('tax_id', '')}",
                        body,
                    ),
                    Paragraph(
                        f"{buyer.get('name', '')}<br/>{_('Tax number')}: {buyer.get('tax_id') or '—'}", body
                    ),
                ],
            ],
            colWidths=[87 * mm, 87 * mm],
        )
        parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [parties, Spacer(1, 8 * mm)]

        data = [[_("Product"), _("SKU"), _("Quantity"), _("Unit price"), _("Net amount")]]
        for line in invoice.lines.all():
            data.append(
                [
                    Paragraph(line.description, body),
                    line.sku,
                    str(line.quantity),
                    amount(line.unit_price),
                    amount(line.net_amount),
                ]
            )
        data += [
            ["", "", "", _("Net total"), amount(invoice.net_total)],
            ["", "", "", f"{_('VAT')} {invoice.vat_percent.normalize()}%", amount(invoice.vat_total)],
            ["", "", "", _("Total due"), amount(invoice.gross_total)],
        ]
        table = Table(data, colWidths=[70 * mm, 26 * mm, 18 * mm, 30 * mm, 30 * mm], repeatRows=1)
        n = len(data)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), regular),
                    ("FONTNAME", (0, 0), (-1, 0), bold),
                    ("FONTNAME", (3, n - 1), (-1, n - 1), bold),
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f6")),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#1d2433")),
                    ("LINEABOVE", (3, n - 3), (-1, n - 3), 0.6, colors.HexColor("#1d2433")),
                    ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [
            table,
            Spacer(1, 8 * mm),
            Paragraph(
                _(
                    "Electronic software delivery: product keys were delivered to the end customer's "
                    "Digital Locker. ESD products cannot be returned."
                ),
                body,
            ),
        ]
        doc.build(story)
    return buffer.getvalue()
