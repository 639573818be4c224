"""What a search box's text may be before it reaches a query."""

from __future__ import annotations


def search_text(raw: str | None, *, limit: int) -> str:
    """The typed text without characters that cannot be printed (a NUL, which PostgreSQL refuses in any
    text, and other control characters), trimmed, at most ``limit`` characters (ALL-2: no server error
    from what someone typed)."""
    return "".join(char for char in (raw or "") if char.isprintable())[:limit].strip()
