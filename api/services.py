"""API tokens: made, found and revoked here only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation
from core.errors import DomainError

from .models import ApiToken, IdempotencyRecord

TOKEN_PREFIX = "rp_"  # noqa: S105 (a marker, not a secret)


class TokenError(DomainError):
    STATUS = {"not_a_reseller": 403, "not_an_admin": 403}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, organisation: Organisation, user: Any, name: str) -> tuple[ApiToken, str]:
    """A new token of ``organisation``, made by ``user`` (one of its administrators); the plain token is
    returned once, never stored. The token acts for that organisation only, whatever else its maker
    belongs to (CC-11)."""
    if not organisation.is_reseller:
        raise TokenError("not_a_reseller", _("Only reseller users can have API tokens."))
    membership = Membership.objects.filter(user_id=user.pk, organisation=organisation, active=True).first()
    if membership is None:
        raise TokenError("not_a_reseller", _("Only reseller users can have API tokens."))
    if membership.role != Membership.Role.ADMIN:
        raise TokenError("not_an_admin", _("Only the organisation's administrators manage API tokens."))
    name = (name or "").strip()[:100] or "API token"
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{secret}"
    record = ApiToken.objects.create(
        organisation=organisation,
        created_by=user,
        name=name,
        prefix=token[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(token),
    )
    return record, token


def api_token_revoke(*, organisation: Organisation, token_id: int) -> ApiToken:
    with transaction.atomic():
        record = ApiToken.objects.for_org(organisation).select_for_update().get(pk=token_id)
        if record.revoked_at is None:
            record.revoked_at = timezone.now()
            record.save(update_fields=["revoked_at"])
    return record


def api_token_authenticate(token: str) -> ApiToken | None:
    """The active token behind a bearer string, with its organisation and creator, or None.

    A token acts for its creator, so only while the creator is an active member of the token's
    organisation: removed from it, deactivated, the token opens nothing (ALL-1); memberships elsewhere
    neither help nor harm (CC-11). One query.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    creator_is_member = Membership.objects.filter(
        user_id=OuterRef("created_by_id"), organisation_id=OuterRef("organisation_id"), active=True
    )
    record = (
        ApiToken.objects.active()
        .select_related("organisation", "created_by")
        .annotate(creator_is_member=Exists(creator_is_member))
        .filter(token_hash=token_hash(token))
        .first()
    )
    if record is None or not record.created_by.is_active or not record.creator_is_member:  # type: ignore[attr-defined]
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)  # at most one write a minute
    return record


def idempotency_records_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
