"""A mail made of templates, whatever app sends it.

``<template>_subject.txt`` (one line), ``<template>.txt`` and ``<template>.html`` are rendered with one
context in the portal's language (a worker has no request to take a language from) and make one message:
the text as its body, the HTML as its alternative. The builders differ only in what is passed here: the
sender (the portal's address unless told, e.g. the locker's for orders' mails), the time zone dates are
rendered in (the active one unless told) and whether the mail has an HTML part at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation


def templated_mail(
    template: str,
    context: Mapping[str, Any],
    *,
    to: list[str],
    from_email: str | None = None,
    tz: str | None = None,
    html: bool = True,
) -> EmailMultiAlternatives:
    """The message of ``template``'s files rendered with ``context``, to ``to``; not sent.

    From ``from_email``, else ``DEFAULT_FROM_EMAIL``. With ``tz`` the templates are rendered in that time
    zone (``timezone.override``), else in the active one. With ``html=False`` there is no ``.html``
    template and the message has the text alone."""
    zone = timezone.override(tz) if tz is not None else contextlib.nullcontext()
    with translation.override(settings.LANGUAGE_CODE), zone:
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}.txt", context)
        alternative = render_to_string(f"{template}.html", context) if html else None
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL if from_email is None else from_email,
        to=to,
    )
    if alternative is not None:
        message.attach_alternative(alternative, "text/html")
    return message
