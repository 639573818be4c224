"""The web form's two signed links (SUP-6): the confirmation link of a held request (it expires with the
hold, checked where it is read) and the follow link of a filed one (no expiry). Each names its record and
the address it is for; a link is only in the mail to that address, never logged or stored."""

from __future__ import annotations

from core.links import link_token

from .models import HeldWebRequest, SupportRequest

CONFIRM_SALT = "support.web_form.confirm"
FOLLOW_SALT = "support.web_form.follow"


def confirm_token(held: HeldWebRequest) -> str:
    return link_token([held.pk, held.email], salt=CONFIRM_SALT)


def follow_token(request: SupportRequest) -> str:
    """The signed link by which a web-form customer follows and answers a request (no expiry: it names
    the request and the address it was confirmed from)."""
    return link_token([request.pk, request.contact_email], salt=FOLLOW_SALT)
