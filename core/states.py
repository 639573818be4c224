"""Explicit state machines: a table of allowed moves, and one way to make a move.

A record's ``status`` changes only through ``StateMachine.move``: the caller holds the row lock
(``select_for_update``); the move is checked against the table, the record saved with ``update_fields``
(the status and whatever else the move sets), and its event written with its actor in the same
transaction, so the history never disagrees with the row (ALL-3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .errors import DomainError


@dataclass(frozen=True)
class StateMachine:
    transitions: Mapping[str, set[str]]
    refuse: Callable[[Any, str], DomainError]  # the refusal for a move the table does not allow
    field: str = "status"

    def allows(self, obj: Any, to: str) -> bool:
        return to in self.transitions[getattr(obj, self.field)]

    def check(self, obj: Any, to: str) -> None:
        if not self.allows(obj, to):
            raise self.refuse(obj, to)

    def move(
        self,
        obj: models.Model,
        to: str,
        *,
        event: Callable[..., models.Model] | None = None,
        now: Any = None,
        **fields: Any,
    ) -> list[str]:
        """Check, set and save the move (plus ``fields``), then write ``event(at=now)`` if given, all in the
        caller's transaction. Returns the names of the fields saved."""
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("a state move needs the caller's transaction and row lock")
        self.check(obj, to)
        now = now or timezone.now()
        setattr(obj, self.field, to)
        for name, value in fields.items():
            setattr(obj, name, value)
        saved = [self.field, *fields]
        obj.save(update_fields=saved)
        if event is not None:
            event(at=now)
        return saved
