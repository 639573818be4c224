"""Ids as users send them: in a query string, a form field or a URL segment, where anything may stand.

``str.isdigit()`` is not enough before ``int()``: it accepts characters ``int()`` refuses (superscripts such
as "²"), and ``int()`` refuses more than 4,300 digits; each would be a server error (ALL-2). An id here is
1 to 18 ASCII digits, which every positive ``bigint`` primary key fits in.
"""

from __future__ import annotations

from typing import Any

MAX_DIGITS = 18


def id_or_none(value: Any) -> int | None:
    """``value`` as a positive id, or None for anything else (empty, a sign, a non-ASCII digit, too long)."""
    text = str(value if value is not None else "").strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number > 0 else None
