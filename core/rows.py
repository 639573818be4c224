"""The rows of the portal's three longest lists (the order list's table, the locker's key cards, the support
queue's rows in the admin), rendered by Jinja2 (the ``rows`` template engine in settings, templates in
``jinja/``).

Everything else is Django's template language. These three are the exception because ``make bench`` showed
they need it: 25 order rows, 50 key cards or 25 queue rows cost a third of what Django's templates spent on
them, which is what brought the pages near their budget (bench/README.md). The templates hold no
translatable text: the view translates the labels once per page and passes them in, so ``makemessages``
finds them in Python. Jinja2 escapes every value (``autoescape``), and an unknown name is an error, not an
empty string.
"""

from __future__ import annotations

from typing import Any

from django.template import engines
from django.utils.safestring import SafeString, mark_safe


def render_rows(template_name: str, context: dict[str, Any]) -> SafeString:
    """``jinja/<template_name>`` rendered with ``context``, to place in a Django template as it is."""
    html = engines["rows"].get_template(template_name).render(context)
    return mark_safe(html)  # noqa: S308 - Jinja2 escaped every value (autoescape)
