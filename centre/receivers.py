"""What the customer centre answers when an app below it asks (``accounts.signals``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .models import Address


def on_postal_address_asked(sender: Any, organisation: Any, **kwargs: Any) -> str | None:
    """A customer with a billing address keeps it in the centre (CC-4), and the centre writes it onto the
    organisation's postal fields (``services.addresses``): staff see those fields read-only, with where the
    address is kept, so an edit in the admin cannot drift from what the customer keeps."""
    if organisation.pk is None:
        return None
    if not Address.objects.filter(organisation_id=organisation.pk, kind=Address.Kind.BILLING).exists():
        return None
    return _(
        "Kept by the customer as its billing address in the customer centre (Addresses), which writes it "
        "here; admin → Addresses shows it and every change."
    )
