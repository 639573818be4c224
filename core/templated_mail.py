"""A mail made of three templates, whatever app sends it.

``<template>_subject.txt`` (one line), ``<template>.txt`` and ``<template>.html`` are rendered with one
context in the portal's language (a worker has no request to take a language from) and make one message:
the text as its body, the HTML as its alternative, from the portal's address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def templated_mail(template: str, context: Mapping[str, Any], *, to: list[str]) -> EmailMultiAlternatives:
    """The message of ``template``'s three files rendered with ``context``, to ``to``; not sent."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to
    )
    message.attach_alternative(html, "text/html")
    return message
