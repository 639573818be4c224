"""Text staff write for customers (news, document descriptions): plain text with its line breaks, or HTML
sanitised with nh3 (its allow-list of tags and attributes; no script, style, event handler or
``javascript:`` link survives). Sanitised when shown, so a row written any way at all (admin, shell,
import) is safe on a page."""

from __future__ import annotations

import html
import re

import nh3
from django.template.defaultfilters import linebreaks_filter
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

_TAG = re.compile(r"<[a-zA-Z/!]")


def safe_html(text: str) -> SafeString:
    """``text`` ready for a page: HTML through nh3, or plain text escaped with its line breaks kept."""
    text = text or ""
    if _TAG.search(text):
        return mark_safe(nh3.clean(text))  # noqa: S308 (nh3 has just sanitised it)
    return linebreaks_filter(text, autoescape=True)


def plain_excerpt(text: str, limit: int = 240) -> str:
    """The text without markup, at most ``limit`` characters (ending with "…" when cut)."""
    plain = " ".join(html.unescape(strip_tags(nh3.clean(text or ""))).split())
    if len(plain) <= limit:
        return plain
    return plain[: limit - 1].rsplit(" ", 1)[0] + "…"
