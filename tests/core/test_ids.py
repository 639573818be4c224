"""Ids as users send them (core.ids): anything that is not 1 to 18 ASCII digits is no id (ALL-2)."""

from __future__ import annotations

import pytest

from core.ids import id_or_none


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (42, 42),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("9" * 5000, None),  # int() refuses more than 4,300 digits
        ("²", None),  # a digit to str.isdigit(), not to int()
        ("١٢", None),  # Arabic-Indic digits: int() reads them, but they are no id a page printed
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        ("a1", None),
    ],
)
def test_all2_an_id_is_one_to_eighteen_ascii_digits(value: object, expected: int | None) -> None:
    assert id_or_none(value) == expected
