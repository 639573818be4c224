"""Documents for customers (CC-6 *documents* right, ALL-1, ALL-3): the list, keyset paged at a constant
cost, and the download through an access check. Only a person acting for a customer with the *documents*
right gets here (403 otherwise, as for the other rights); another customer's document (a product it does
not hold), a draft and a missing id answer the same 404. Each download is recorded before the file goes.

The file goes out in ``serve_document``, the one place that sends a document: a plain ``FileResponse``
from Django's storage. Documents are small (manuals, leaflets); when the portal has a shared way to hand
large files to the web server (X-Accel-Redirect, a signed storage URL), this function is what switches.
"""

from __future__ import annotations

import logging
import mimetypes

from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest
from django.utils.cache import patch_cache_control
from django.views import View

from accounts.client_ip import client_ip
from accounts.models import Membership

from .errors import CentreError
from .models import Document
from .selectors import document_page
from .services.documents import document_downloaded
from .views import CustomerListView, CustomerRequiredMixin

DOCUMENTS = Membership.Right.DOCUMENTS.value
logger = logging.getLogger(__name__)


def serve_document(document: Document) -> FileResponse:
    """The document's file as an attachment, from Django's storage; 404 when the storage has lost it."""
    try:
        handle = document.file.storage.open(document.file.name or "", "rb")
    except (FileNotFoundError, OSError):
        logger.error("document %s: file missing from storage", document.pk)
        raise Http404 from None
    content_type = mimetypes.guess_type(document.filename)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=document.filename, content_type=content_type)
    patch_cache_control(response, private=True, no_store=True)
    return response


class DocumentsView(CustomerListView):
    required_right = DOCUMENTS
    template_name = "centre/documents.html"
    list_page = staticmethod(document_page)


class DocumentDownloadView(CustomerRequiredMixin, View):
    required_right = DOCUMENTS

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        # The record and the opening of the file in one transaction: a file the storage lost is not
        # recorded as downloaded.
        with transaction.atomic():
            try:
                document = document_downloaded(
                    organisation=self.organisation,
                    user=request.user,
                    document_id=pk,
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
            except CentreError:
                raise Http404 from None
            return serve_document(document)
