"""The refusals of order actions."""

from __future__ import annotations

from core.errors import DomainError


class OrderError(DomainError):
    """A refusal of an order action (core.errors: its adapters show it in a form, a message or the API)."""

    STATUS = {
        "invalid_email": 422,
        "member_address": 422,
        "own_domain_address": 422,
        "product_not_orderable": 422,
        "invalid_quantity": 422,
        "no_lines": 422,
        "invalid_reference": 422,
        "price_changed": 409,
        "same_email": 422,
        "not_a_reseller": 403,
        "not_cancellable": 409,
        "correction_refused": 409,
        "correction_pending": 409,
        "not_fulfilled": 409,
        "not_invoiced": 409,
        "mail_in_flight": 409,
        "invalid_transition": 409,
        "resend_throttled": 429,
    }
