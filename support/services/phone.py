"""Phone intake (SUP-6): for emergencies, staff record a call as a request on the customer's behalf.

The request is filed through the same intake as the help module (``requests.request_file``: the same
entitlement check, SUP-1..4, and binding, SUP-5 — staff may bind a domain, SUP-6), with channel *phone*,
so it gets its number (SUP-7) and its clock by the rules (SUP-8). The call is recorded with the staff
member who took it (ALL-3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User

from ..errors import SupportError
from ..models import Channel, SupportEvent, SupportRequest
from .requests import request_file


def phone_request_file(
    *,
    customer_id: str,
    person_email: str = "",
    kind: str,
    support_number: str = "",
    url: str = "",
    category: str = "",
    subject: str,
    body: str,
    staff: Any,
    now: datetime | None = None,
) -> SupportRequest:
    """File the call as a request of the customer ``customer_id`` (optionally in the name of one of its
    people, found by e-mail); ``SupportError`` by field when it is refused, nothing stored."""
    now = now or timezone.now()
    organisation = Organisation.objects.filter(
        kind=Organisation.Kind.CUSTOMER, customer_id=(customer_id or "").strip()
    ).first()
    if organisation is None:
        raise SupportError("customer_unknown", _("No customer has this number."), field="customer_id")
    person = None
    if (person_email or "").strip():
        person = User.objects.filter(
            email__iexact=person_email.strip(), memberships__organisation=organisation, is_active=True
        ).first()
        if person is None:
            raise SupportError(
                "person_unknown",
                _("No person of this customer has this e-mail address."),
                field="person_email",
            )
    with transaction.atomic():
        request = request_file(
            organisation=organisation,
            requester=person,
            kind=kind,
            support_number=support_number,
            url=url,
            category=category,
            subject=subject,
            body=body,
            channel=Channel.PHONE,
            now=now,
        )
        SupportEvent.objects.create(
            request=request,
            kind=SupportEvent.Kind.PHONE_CALL,
            actor=staff,
            at=now,
            data={"person": person.pk if person else None},
        )
    return request
