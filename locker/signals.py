"""The locker announces new stock; ``orders`` listens so orders awaiting stock complete by themselves.

A notification only (sent after commit): the sweeper would find the same orders within a minute.
"""

from django.dispatch import Signal

stock_added = Signal()  # kwargs: product_ids: list[int]
key_first_revealed = Signal()  # kwargs: key_id: uuid.UUID, at: datetime
