"""Credentials given with a request (SUP-10): added by the customer, sealed by the vault, revealed only to
the staff member assigned (each reveal recorded), destroyed when the request closes.

The plaintext lives only in the arguments and locals of ``credential_add`` and ``credential_reveal``
(``sensitive_variables``: an error report never shows it) and is never written to a log, a message or an
event's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organisation
from locker import vault

from ..errors import SupportError
from ..models import RequestCredential, SupportEvent, SupportRequest

SECRET_MAX = 500


@sensitive_variables("secret")
def credential_add(
    *,
    organisation: Organisation,
    request_id: Any,
    user: Any,
    kind: str,
    host: str,
    username: str,
    secret: str,
    now: datetime | None = None,
) -> RequestCredential:
    """The customer gives access with one of its open requests; another organisation's request or a
    missing one: ``not_found`` (ALL-1); a closed one: ``closed``."""
    now = now or timezone.now()
    if kind not in RequestCredential.Kind.values:
        raise SupportError("credential_kind", _("Choose what the access is for."), field="kind")
    host = (host or "").strip()
    if not host or len(host) > 500:
        raise SupportError(
            "credential_host", _("Enter the address of the admin panel or server."), field="host"
        )
    username = (username or "").strip()
    if len(username) > 200:
        raise SupportError(
            "credential_username", _("At most %(n)d characters.") % {"n": 200}, field="username"
        )
    if not secret or len(secret) > SECRET_MAX:
        raise SupportError(
            "credential_secret", _("Enter the password (at most 500 characters)."), field="secret"
        )
    with transaction.atomic():
        request = (
            SupportRequest.objects.for_org(organisation).select_for_update().filter(pk=request_id).first()
        )
        if request is None:
            raise SupportError("not_found", _("No such request."))
        if request.status == SupportRequest.Status.CLOSED:
            raise SupportError("closed", _("This request is closed; credentials are not kept for it."))
        credential = RequestCredential.objects.create(
            request=request, kind=kind, host=host, username=username, created_by=user, created_at=now
        )
        vault.seal_into(credential, RequestCredential.SEAL_KIND, secret)
        credential.save(update_fields=list(vault.columns(RequestCredential.SEAL_KIND)))
        SupportEvent.objects.create(
            request=request,
            kind=SupportEvent.Kind.CREDENTIAL_ADDED,
            actor=user,
            at=now,
            data={"credential": credential.pk, "kind": kind},
        )
    return credential


@sensitive_variables("plaintext")
def credential_reveal(
    *,
    credential_id: Any,
    user: Any,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[RequestCredential, str]:
    """The secret, for the staff member assigned to the request only; the reveal is recorded (who, when,
    from which address and browser, as a key's reveal is: LOCK-4). Anyone else: ``not_allowed``; a
    destroyed credential: ``closed``."""
    now = now or timezone.now()
    with transaction.atomic():
        credential = RequestCredential.objects.select_related("request").filter(pk=credential_id).first()
        if credential is None:
            raise SupportError("not_found", _("No such credentials."))
        if user is None or not user.is_staff or credential.request.assignee_id != user.pk:
            raise SupportError(
                "not_allowed", _("Only the staff member assigned to the request sees credentials.")
            )
        if credential.destroyed_at is not None or not credential.secret_master_key_id:
            raise SupportError("closed", _("These credentials were destroyed when the request closed."))
        plaintext = vault.open_from(credential, RequestCredential.SEAL_KIND)
        SupportEvent.objects.create(
            request=credential.request,
            kind=SupportEvent.Kind.CREDENTIAL_REVEALED,
            actor=user,
            at=now,
            data={"credential": credential.pk, "ip": ip or "", "user_agent": (user_agent or "")[:400]},
        )
    return credential, plaintext


def credentials_destroy(*, request: SupportRequest, actor: Any, now: datetime | None = None) -> int:
    """Wipe the request's sealed secrets and mark them destroyed (SUP-10, on close), recorded once."""
    now = now or timezone.now()
    ciphertext, wrapped_key, master_key_id = vault.columns(RequestCredential.SEAL_KIND)
    count = RequestCredential.objects.filter(request=request, destroyed_at=None).update(
        **{ciphertext: b"", wrapped_key: b"", master_key_id: ""}, destroyed_at=now
    )
    if count:
        SupportEvent.objects.create(
            request=request,
            kind=SupportEvent.Kind.CREDENTIAL_DESTROYED,
            actor=actor,
            at=now,
            data={"count": count},
        )
    return count
