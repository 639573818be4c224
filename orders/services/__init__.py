"""Writes on ESD orders, by topic (ARCHITECTURE: services).

- ``states``: the order's, the welcome mail's and the corrections' state machines and transitions
- ``placement``: placing an order (ESD-2, ESD-7), the quote its confirmation shows, cancelling (ESD-10)
- ``fulfilment``: keys into the customer's locker, whole or not at all (ESD-3..5)
- ``invoices``: the invoice issued with the fulfilment (ESD-6)
- ``vendor_requests``: keys asked of the vendor when the pool is short (ESD-4, ESD-5)
- ``correction``: a wrong end-customer address corrected (ESD-14)
- ``welcome_mail``: the welcome mail sent again (ESD-12) and what the customer did since delivery
- ``sweep``: work whose message was lost, enqueued again (ALL-5)

What may be done with an order and why not is ``orders.rules`` (shared with ``orders.selectors``); the
welcome mail itself is ``orders.mail``. The names callers use are re-exported here. A test that replaces a
name replaces it in the module that looks it up (``orders.services.fulfilment.invoices_issue``).
"""

from ..errors import OrderError
from .correction import correction_approve, correction_notice_failed, correction_refuse, order_correct_email
from .fulfilment import (
    FulfilOutcome,
    fulfilment_wake,
    fulfilment_woken,
    order_fulfil,
    orders_fulfil,
    orders_fulfil_placed,
    orders_retry_for_products,
)
from .invoices import invoices_issue
from .placement import (
    MAX_UNITS_PER_LINE,
    RESELLER_REFERENCE_MAX,
    LineIn,
    OrderQuote,
    QuoteLine,
    order_cancel,
    order_place,
    order_quote,
    reseller_reference_clean,
)
from .states import (
    CORRECTION_STATES,
    MAIL_STATES,
    ORDER_STATES,
    order_transition,
    orders_transition,
)
from .sweep import correction_notices_sweep, orders_sweep
from .vendor_requests import (
    vendor_request_failed,
    vendor_request_run,
    vendor_requests_open,
    vendor_requests_resend,
)
from .welcome_mail import customer_password_set, customer_signed_in, order_keys_accessed, welcome_mail_resend

__all__ = [
    "CORRECTION_STATES",
    "MAIL_STATES",
    "MAX_UNITS_PER_LINE",
    "ORDER_STATES",
    "RESELLER_REFERENCE_MAX",
    "FulfilOutcome",
    "LineIn",
    "OrderError",
    "OrderQuote",
    "QuoteLine",
    "correction_approve",
    "correction_notice_failed",
    "correction_notices_sweep",
    "correction_refuse",
    "customer_password_set",
    "customer_signed_in",
    "fulfilment_wake",
    "fulfilment_woken",
    "invoices_issue",
    "order_cancel",
    "order_correct_email",
    "order_fulfil",
    "order_keys_accessed",
    "order_place",
    "order_quote",
    "order_transition",
    "orders_fulfil",
    "orders_fulfil_placed",
    "orders_retry_for_products",
    "orders_sweep",
    "orders_transition",
    "reseller_reference_clean",
    "vendor_request_failed",
    "vendor_request_run",
    "vendor_requests_open",
    "vendor_requests_resend",
    "welcome_mail_resend",
]
