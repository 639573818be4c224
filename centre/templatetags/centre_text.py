"""Filters for the text staff write for customers (``centre.richtext``): ``{{ item.body|plain_excerpt }}``,
the start of a news item or a document description without markup."""

from __future__ import annotations

from django import template

from ..richtext import plain_excerpt

register = template.Library()
register.filter("plain_excerpt", plain_excerpt)
