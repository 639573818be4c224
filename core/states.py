"""Explicit state machines: a table of allowed moves, and one way to make a move.

A record's state changes only through its ``StateMachine``. ``move`` is the usual way: the caller holds the
row lock (``select_for_update``); the move is checked against the table, the record saved with
``update_fields`` (the state and whatever else the move sets), and its event written with its actor in the
same transaction, so the history never disagrees with the row (ALL-3). Two variants serve the paths that
must not save one row at a time: ``apply`` checks and sets a move on a locked record that the caller saves
with others in one UPDATE, and ``move_row`` makes a move by one conditional UPDATE, without loading or
locking the row, for a hot path that races with copies of itself.
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

    def sources(self, to: str) -> list[str]:
        """The states the table lets go to ``to``."""
        return [state for state, targets in self.transitions.items() if to in targets]

    def apply(self, obj: Any, to: str, **fields: Any) -> list[str]:
        """Check the move and set it, with ``fields``, on ``obj`` without saving it; return the names of the
        fields set. For a caller that holds the row lock and saves the record itself, with other records in
        one UPDATE or with another machine's move, and writes the events."""
        self.check(obj, to)
        setattr(obj, self.field, to)
        for name, value in fields.items():
            setattr(obj, name, value)
        return [self.field, *fields]

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
        now = now or timezone.now()
        saved = self.apply(obj, to, **fields)
        obj.save(update_fields=saved)
        if event is not None:
            event(at=now)
        return saved

    def move_row(
        self,
        model: type[models.Model],
        pk: Any,
        to: str,
        *,
        event: Callable[..., models.Model] | None = None,
        now: Any = None,
        **fields: Any,
    ) -> bool:
        """Move the row ``pk`` of ``model`` by one conditional UPDATE, with no row loaded or lock held
        before: it changes (with ``fields``) only while its state is one the table lets go to ``to``; then
        ``event(at=now)`` is written, in the same transaction, only if it did. True if the row moved.

        Of callers racing to make the same move, the database lets exactly one UPDATE match: the others
        wait for it, find the state moved on and change nothing, so the move and its event happen once.
        """
        now = now or timezone.now()
        with transaction.atomic():
            moved = (
                model._default_manager.filter(pk=pk, **{f"{self.field}__in": self.sources(to)}).update(
                    **{self.field: to}, **fields
                )
                > 0
            )
            if moved and event is not None:
                event(at=now)
        return moved
