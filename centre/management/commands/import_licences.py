from __future__ import annotations

from centre.services.imports import licences_import

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Book licences and issued numbers from a CSV file with the columns customer_id,sku,"
        "installation_number,purchase_date and optional support_number and source (direct|partner). A line "
        "without a customer id is a number issued with a partner's sale, registered later by its customer. "
        "Every line is checked first; any error (reported by line) and nothing is imported. Never prints an "
        "installation number."
    )
    service = staticmethod(licences_import)
    report_format = (
        "Licences: {lines} lines, {created} licences booked, {issued} numbers issued, {unchanged} unchanged."
    )
