"""Documents downloaded by customers (CC-6 *documents* right, ALL-3): every download is recorded, with
who, for which customer, when and from where, before the file leaves."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation

from ..errors import CentreError
from ..models import Document, DocumentDownloadEvent

DOCUMENTS = Membership.Right.DOCUMENTS.value


def document_downloaded(
    *, organisation: Organisation, user: Any, document_id: Any, ip: str | None, user_agent: str
) -> Document:
    """The document, if the customer may have it (published; general or about a product it holds), with
    the download recorded; ``CentreError("not_found")`` for another customer's, a draft or a missing one
    alike (ALL-1)."""
    try:
        document = Document.objects.for_org(organisation).get(pk=document_id)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise CentreError("not_found", _("There is no such document.")) from None
    DocumentDownloadEvent.objects.create(
        kind=DocumentDownloadEvent.Kind.DOWNLOADED,
        document=document,
        organisation=organisation,
        actor_id=user.pk,
        ip=ip,
        user_agent=(user_agent or "")[:400],
    )
    return document
