"""Each signed-in session, as allauth's user sessions list it (``/accounts/sessions/``): its browser,
address, when it began and when it was last seen; the owner ends the others there.

allauth records a session when someone signs in through its forms; here every sign-in (Django's
``user_logged_in``) records it too, and a session from before the list existed is recorded at its next
page. Last seen: allauth's own tracking (``USERSESSIONS_TRACK_ACTIVITY``) writes the session's row on
every request, which would add a query to every page (the portal keeps a page's queries fixed: the user,
the memberships, the page's own). Instead ``SessionActivityMiddleware`` writes it at most once per
``SEEN_EVERY`` per session, deciding from the time kept in the session itself (already read for the user):
no query and no cache call on the pages in between, so "last seen" is exact to within that much. Two
pages at the same moment may both write it; it is the same row's update, so nothing is lost. The sessions
themselves stay wherever ``SESSION_ENGINE`` keeps them (``cached_db``): ending one deletes it from the
cache and the database alike (``UserSession.end``), so its browser is signed out at its next request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from allauth.usersessions.models import UserSession
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

SEEN_EVERY = 300  # seconds between two writes of one session's "last seen"


SEEN_AT = "_portal_seen_at"  # the session's own note of when its row was last written (epoch seconds)


def record_session(request: HttpRequest, user: Any) -> None:
    """Create or refresh the ``UserSession`` of this request's session (browser, address, last seen)."""
    session = getattr(request, "session", None)
    if session is None or user is None or not user.is_authenticated:
        return
    session[SEEN_AT] = int(time.time())
    try:
        UserSession.objects.create_from_request(request, user=user, session=session)
    except PermissionDenied:  # no client address to record (accounts.adapter): nothing to show either
        return


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Record the new session, and mark it seen: its first pages write nothing. A sign-in without a client
    address (the test client's ``force_login``) is recorded by the middleware once ``SEEN_EVERY`` passed."""
    if request is None:
        return
    record_session(request, user)


class SessionActivityMiddleware:
    """Refresh the session's "last seen" at most once per ``SEEN_EVERY`` (after authentication and allauth's
    context)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.session_key
            and request.user.is_authenticated
            and time.time() - session.get(SEEN_AT, 0) >= SEEN_EVERY
        ):
            record_session(request, request.user)
        return self.get_response(request)
