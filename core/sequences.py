"""Numbers without gaps, counted per year (invoice numbers ``ESD/<year>/<n>``, support numbers
``S-<year>-<n>``, and the support desk's request numbers to come).

A sequence is a table of one row per year (``YearlySequence``, abstract: each kind of number has its own
table, so one kind's lock never makes another wait). ``take_numbers`` locks the year's row, moves it on and
returns the first number taken: the row stays locked until the caller's transaction ends, so numbers are
given one caller after another, and a rollback gives them back (no gaps, no duplicates).
"""

from __future__ import annotations

from django.db import models, transaction


class YearlySequence(models.Model):
    """The last number given in a year."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


def take_numbers(sequence: type[YearlySequence], *, year: int, count: int = 1) -> int:
    """Take ``count`` consecutive numbers of ``year`` from ``sequence``; the first of them. Must run inside
    the transaction that uses them (see the module's docstring)."""
    assert transaction.get_connection().in_atomic_block, "take_numbers needs the caller's transaction"
    rows = sequence._default_manager
    rows.bulk_create([sequence(year=year)], ignore_conflicts=True)
    row = rows.select_for_update().get(year=year)
    first = row.last_number + 1
    row.last_number += count
    row.save(update_fields=["last_number"])
    return first
