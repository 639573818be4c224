"""``{% support_credentials req %}``: the request page's section for giving support access (SUP-10)."""

from __future__ import annotations

from typing import Any

from django import template

from ..credential_forms import CredentialForm
from ..models import RequestCredential, SupportRequest

register = template.Library()


@register.inclusion_tag("support/_credentials.html")
def support_credentials(req: SupportRequest) -> dict[str, Any]:
    """What was given (kind, host, when; never the password) and, while the request is open, the form. One
    query."""
    given = list(
        RequestCredential.objects.filter(request=req).only("pk", "kind", "host", "created_at", "destroyed_at")
    )
    return {
        "req": req,
        "active": [c for c in given if c.destroyed_at is None],
        "destroyed": any(c.destroyed_at is not None for c in given),
        "form": CredentialForm() if req.status != SupportRequest.Status.CLOSED else None,
    }
