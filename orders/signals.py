"""Orders announce (after commit) that events worth telling the outside world were recorded.

A nudge only: OrderEvent rows are the outbox, and the webhook dispatcher also sweeps them on a timer.
"""

from django.db import transaction
from django.dispatch import Signal

order_events_recorded = Signal()


def nudge_after_commit() -> None:
    transaction.on_commit(lambda: order_events_recorded.send(sender=None), robust=True)
