"""Reminders before a licence's support ends (SUP-2, CC-1; issue #14).

Support is active before ``Licence.support_ends_on``. A licence whose support is still active and ends
within ``SUPPORT_REMINDER_DAYS`` days (today < end ≤ today + days) is due for a reminder; one
``SupportReminder`` per licence and end date is made for it (``reminders_make``: an insert that skips
what exists, so runs twice or at once make each once), and mailed once to the active administrators of
the licence's customer (``centre.mail.support_reminder_send``). The mail names the product, the support
number, the end date and the way to renew (``SUPPORT_RENEWAL_URL``, or the distributor's support address):
never the installation number, which is not even opened for it. A licence that comes into the window late
(booked or registered days before its end) is reminded at the next run; one whose support already ended
is never reminded.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Membership

from ..models import Licence, SupportReminder

BATCH = 1000


def reminder_window(today: date | None = None) -> tuple[date, date]:
    """The support end dates due for a reminder today: after today, at most ``SUPPORT_REMINDER_DAYS`` on."""
    today = today or timezone.localdate()
    return today + timedelta(days=1), today + timedelta(days=settings.SUPPORT_REMINDER_DAYS)


def reminders_make(*, today: date | None = None) -> int:
    """Make the reminders due today that do not exist yet (at most ``BATCH`` a run); how many were due (a
    concurrent run may have made some of them: those are skipped, not made twice)."""
    first, last = reminder_window(today)
    made = SupportReminder.objects.filter(licence=OuterRef("pk"), support_ends_on=OuterRef("support_ends_on"))
    due = (
        Licence.objects.filter(support_ends_on__gte=first, support_ends_on__lte=last)
        .exclude(Exists(made))
        .order_by("support_ends_on", "pk")
        .values_list("pk", "support_ends_on")[:BATCH]
    )
    rows = [SupportReminder(licence_id=pk, support_ends_on=ends_on) for pk, ends_on in due]
    if not rows:
        return 0
    SupportReminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def reminder_recipients(licence: Licence) -> list[str]:
    """The addresses of the customer's active administrators (active memberships of active accounts)."""
    return sorted(
        Membership.objects.for_org(licence.customer_id)
        .filter(role=Membership.Role.ADMIN, active=True, user__is_active=True)
        .values_list("user__email", flat=True)
    )


def reminder_wanted(reminder: SupportReminder, today: date | None = None) -> bool:
    """Whether the reminder still has a reason to go: the licence's term is the one it was made for, and
    support has not ended yet."""
    licence: Any = reminder.licence
    return licence.support_ends_on == reminder.support_ends_on and licence.support_active(today)
