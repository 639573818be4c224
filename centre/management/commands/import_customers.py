from __future__ import annotations

from centre.services.imports import customers_import

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update customers from a CSV file with the columns customer_id,tax_id,name,country. "
        "Every line is checked first; any error (reported by line) and nothing is imported."
    )
    service = staticmethod(customers_import)
    report_format = "Customers: {lines} lines, {created} created, {updated} updated, {unchanged} unchanged."
