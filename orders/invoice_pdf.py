"""The invoice as a PDF document (ESD-6): products and quantities, never a key."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import Invoice

_FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
]


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
    """The invoice as a PDF document (reportlab). Lists products and quantities, never a key.

    Reads ``invoice.order`` for the reseller's reference (select it with the invoice)."""
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
        title=_("Invoice %(number)s") % {"number": invoice.number},
        author=invoice.seller.get("name", ""),
    )
    cur = invoice.currency

    def amount(value: Decimal) -> str:
        return f"{value:,.2f} {cur}".replace(",", " ")

    with translation.override(settings.LANGUAGE_CODE):
        seller, buyer = invoice.seller, invoice.buyer
        reference = invoice.order.reseller_reference
        # Each fact one whole translatable phrase with its value (ALL-4: no label glued to a value).
        issued = date_format(timezone.localtime(invoice.issued_at), "DATE_FORMAT")
        facts = [
            _("Issued: %(date)s") % {"date": issued},
            _("Order #%(id)s") % {"id": invoice.order_id},
        ]
        if reference:
            facts.append(_("Your reference: %(reference)s") % {"reference": escape(reference)})
        story = [
            Paragraph(escape(_("Invoice %(number)s") % {"number": invoice.number}), title),
            Paragraph(" · ".join(facts), body),
            Spacer(1, 6 * mm),
        ]
        buyer_lines = [escape(buyer.get("name", "")), escape(buyer.get("address") or "")]
        buyer_lines.append(_("Tax number: %(tax_id)s") % {"tax_id": escape(buyer.get("tax_id") or "—")})
        parties = Table(
            [
                [Paragraph(f"<b>{_('Seller')}</b>", body), Paragraph(f"<b>{_('Buyer')}</b>", body)],
                [
                    Paragraph(
                        f"{seller.get('name', '')}<br/>{seller.get('address', '')}<br/>"
                        + _("Tax number: %(tax_id)s") % {"tax_id": seller.get("tax_id", "")},
                        body,
                    ),
                    Paragraph("<br/>".join(line for line in buyer_lines if line), body),
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
                    Paragraph(escape(line.description), body),
                    line.sku,
                    str(line.quantity),
                    amount(line.unit_price),
                    amount(line.net_amount),
                ]
            )
        data += [
            ["", "", "", _("Net total"), amount(invoice.net_total)],
            [
                "",
                "",
                "",
                _("VAT %(rate)s%%") % {"rate": invoice.vat_percent.normalize()},
                amount(invoice.vat_total),
            ],
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
