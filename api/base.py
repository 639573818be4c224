"""The one base for API views: token auth, tenancy, throttling, idempotent POSTs (ARCHITECTURE 4)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organisation

from .authentication import BearerTokenAuthentication
from .errors import ApiProblem
from .models import IdempotencyRecord
from .permissions import HasResellerToken
from .throttling import TokenRateThrottle


class ResellerAPIView(APIView):
    """Resolves ``self.organisation`` from the token once; every queryset is scoped with it (ALL-1)."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasResellerToken]
    throttle_classes = [TokenRateThrottle]
    organisation: Organisation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.organisation = request.auth.organisation


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pager that answers 400 ``invalid_cursor`` for any cursor it did not hand out (ALL-2).

    DRF checks a cursor's base64 and numbers but passes its position (``p=``) straight into the filter on
    the first ordering field, so ``p='`` on a date ordering raised Django's ValidationError (a 500). Here
    the position is read by that model field first; a cursor that does not read is refused.
    """

    _model: Any = None

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> Any:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise self._invalid() from None
        if cursor is None or cursor.position is None:
            return cursor
        if "\x00" in cursor.position:  # PostgreSQL takes no NUL in a text parameter
            raise self._invalid()
        if self._model is not None:
            try:
                field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
            except FieldDoesNotExist:  # an annotation or a related path: left to DRF
                return cursor
            try:
                field.to_python(cursor.position)
            except (DjangoValidationError, ValueError, TypeError, OverflowError):
                raise self._invalid() from None
        return cursor

    def _invalid(self) -> ApiProblem:
        return ApiProblem(400, "invalid_cursor", _("The cursor is not one this API handed out."))


def _request_hash(request: Request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Honour ``Idempotency-Key`` on a POST: the same key and body replay the first response.

    The record is written in the same transaction as the work. A concurrent repeat blocks on the unique
    index until the first commits, then replays its response; the same key with another body is refused
    (422). A request that fails leaves no record, so it can be retried with the same key.
    """

    @wraps(method)
    def wrapper(self: ResellerAPIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return method(self, request, *args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise ApiProblem(
                400, "invalid_idempotency_key", _("Idempotency-Key must be 1 to 255 printable characters.")
            )
        request_hash = _request_hash(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        organisation=self.organisation,
                        key=key,
                        request_hash=request_hash,
                        response_status=0,
                        response_body={},
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(organisation=self.organisation, key=key)
                if existing.request_hash != request_hash:
                    raise ApiProblem(
                        422,
                        "idempotency_key_reused",
                        _("This Idempotency-Key was used for a different request."),
                    ) from None
                return Response(
                    existing.response_body,
                    status=existing.response_status,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = method(self, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.response_status = response.status_code
                record.response_body = response.data
                record.save(update_fields=["response_status", "response_body"])
            else:
                transaction.set_rollback(True)
            return response

    return wrapper
