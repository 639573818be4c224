"""The API's JSON parser: DRF's, with a depth limit, so no body can raise a RecursionError (ALL-2)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any body this API takes (an order is three levels deep) and far below Python's recursion limit,
# so nothing that walks the parsed data later (validation, the idempotency hash, error lists) can overflow.
MAX_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects in ``data`` nest deeper than ``limit``; iterative, so never recursion."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    """Refuses JSON nested deeper than ``MAX_DEPTH`` with a parse error (400) instead of a server error.

    Python's json module raises RecursionError (not ValueError) for a body nested some thousand levels deep;
    a body just under that still parses but would overflow the stack of whatever walks it next.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        if json_depth_exceeds(data):
            raise ParseError(_too_deep())
        return data


def _too_deep() -> str:
    return _("JSON parse error - nested deeper than %(limit)d levels.") % {"limit": MAX_DEPTH}
