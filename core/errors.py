"""One family of refusals, and the one way each reaches a user.

A service refuses what a user asked for by raising a ``DomainError``: a stable ``code`` (for programs and
tests), a translatable ``message`` (for people) and, where it belongs next to one, the ``field`` of the form
or request body. Views never word a refusal themselves; they hand it to exactly one of the adapters here:
``add_to_form`` (a form re-rendered with what was typed), ``flash`` (a message after a redirect) or, for the
API, ``problem`` (an RFC 9457 problem+json body, with the HTTP status the error's family gives its code).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.http import HttpRequest


class DomainError(Exception):
    """A refusal the user caused and can act on."""

    # The HTTP status the API answers for each code of this family; codes not listed answer DEFAULT_STATUS.
    STATUS: ClassVar[dict[str, int]] = {}
    DEFAULT_STATUS: ClassVar[int] = 422

    def __init__(self, code: str, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.field = field

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, self.DEFAULT_STATUS)


def add_to_form(form: Any, error: DomainError) -> None:
    """Show the refusal next to its field, or above the form when the form has no such field."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


def flash(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, error.message)


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem body, with the portal's stable ``code``."""
    return {
        "type": f"urn:reseller-portal:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_of(error: DomainError, title: str, body_fields: set[str] | None = None) -> dict[str, Any]:
    """The problem body of a refusal; ``errors`` names the request field when the API has one by that name."""
    field = error.field if error.field and (body_fields is None or error.field in body_fields) else ""
    errors = [{"field": field, "message": error.message, "code": error.code}] if field else []
    return problem(error.status, error.code, title, error.message, errors=errors)
