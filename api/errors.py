"""Errors as RFC 9457 problem details, each with a stable ``code``; in one place (ARCHITECTURE 8)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from core.errors import DomainError, problem, problem_of

PROBLEM_JSON = "application/problem+json"
# Request-body fields a refusal may name in ``errors`` (the API's names; forms have their own).
REQUEST_FIELDS = {"end_customer_email", "new_email", "lines"}

logger = logging.getLogger("api")


class ApiProblem(exceptions.APIException):
    """A refusal with its own code, raised by API views."""

    def __init__(self, status_code: int, code: str, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = errors or []


def _flatten(data: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested validation errors as a flat list naming each field (``lines[0].sku``)."""
    out: list[dict[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int) or str(key).isdigit():
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out += _flatten(value, name)
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            out += [
                {"field": prefix or "body", "message": str(item), "code": getattr(item, "code", "invalid")}
                for item in data
            ]
        else:
            for i, item in enumerate(data):
                out += _flatten(item, f"{prefix}[{i}]")
    else:
        out.append(
            {"field": prefix or "body", "message": str(data), "code": getattr(data, "code", "invalid")}
        )
    return out


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if request is not None:  # problems are JSON whatever the client asked for (e.g. Accept: application/pdf)
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_JSON
    if isinstance(exc, DomainError):  # a service's refusal: its family gives the status (core.errors)
        body = problem_of(exc, _("The request was refused."), body_fields=REQUEST_FIELDS)
        return Response(body, status=exc.status, content_type=PROBLEM_JSON)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    if isinstance(exc, ApiProblem):
        body = problem(exc.status_code, exc.problem_code, str(exc.detail), str(exc.detail), errors=exc.errors)
    elif isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        body = problem(
            400,
            "validation_error",
            _("The request is not valid."),
            _("See errors for the fields to correct."),
            errors=errors,
        )
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = code if isinstance(code, str) else "error"
        detail = str(getattr(exc, "detail", exc))
        body = problem(response.status_code, code, detail, detail)
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            body["retry_after"] = response.get("Retry-After")
    response.data = body
    response.content_type = PROBLEM_JSON
    return response


def _server_error(exc: Exception, context: dict[str, Any]) -> Response | None:
    """An exception the API did not expect: logged with its traceback, answered with a generic 500 problem
    that carries none of its text (ALL-2). With DEBUG (or DEBUG_PROPAGATE_EXCEPTIONS) on it propagates, so
    Django's debug page and the test client still show it."""
    if settings.DEBUG or settings.DEBUG_PROPAGATE_EXCEPTIONS:
        return None
    request = context.get("request")
    view = context.get("view")
    logger.error(
        "Unhandled exception in API view %s for %s %s",
        type(view).__name__ if view is not None else "?",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    set_rollback()
    body = problem(
        500,
        "server_error",
        _("Something went wrong on our side."),
        _("The request could not be completed. Try again later; if it keeps failing, contact support."),
    )
    response = Response(body, status=500, content_type=PROBLEM_JSON)
    response._has_been_logged = True  # type: ignore[attr-defined]  # logged above, with the traceback
    return response
