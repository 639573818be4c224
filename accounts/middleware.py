"""ESD-8: no admin page opens for staff without a second factor, the admin's login page included.

One gate in front of every URL under the admin's root, rather than a custom ``AdminSite.has_permission``:
the site's own login view (a password-only form that knows nothing of allauth's login stages) is exactly
what must not run, and ``has_permission`` is only asked after it; the gate also covers admin views a
``ModelAdmin`` adds without ``admin_view``, and needs no replacement of the default site that every app
registers its models on.

- ``/admin/login/`` never shows Django's form: it sends to allauth's login (with ``next``), which runs the
  MFA stage; ``/admin/password_change/`` sends to allauth's own password page.
- A signed-in user who is not staff gets 403 (as allauth's ``secure_admin_login`` does).
- Staff without a TOTP authenticator are sent to allauth's TOTP activation.
- Staff with one whose current session was not authenticated with it (a session from before activation,
  ``force_login``) pass allauth's MFA reauthentication, which then returns to the page asked for.

A session counts as authenticated with the second factor when allauth's authentication records for it
(``allauth.account.authentication``, kept in the session for its user only) hold an ``mfa`` step made with
one of the user's current authenticators: the login stage's TOTP or recovery code, or the MFA
reauthentication. An authenticator removed since (a lost phone) no longer counts.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _


def session_passed_second_factor(request: HttpRequest, authenticator_ids: set[int]) -> bool:
    """Whether this session's user showed one of ``authenticator_ids`` (TOTP or recovery codes) in it."""
    return any(
        record.get("method") == "mfa" and record.get("id") in authenticator_ids
        for record in get_authentication_records(request, request.user)  # type: ignore[arg-type]
    )


class StaffSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.gate(request) or self.get_response(request)

    def gate(self, request: HttpRequest) -> HttpResponse | None:
        admin_root = reverse("admin:index")
        if not request.path.startswith(admin_root):
            return None
        user = request.user
        is_login = request.path == reverse("admin:login")
        if not user.is_authenticated:
            target = self._next(request) if is_login else request.get_full_path()
            return _redirect(reverse("account_login"), target)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        authenticators = dict(
            Authenticator.objects.filter(user_id=user.pk).values_list("pk", "type")  # one query
        )
        target = self._next(request) if is_login else request.get_full_path()
        if Authenticator.Type.TOTP not in authenticators.values():
            messages.warning(
                request,
                _("The administration needs two-factor authentication: set up an authenticator app first."),
            )
            return _redirect(reverse("mfa_activate_totp"), target)
        if not session_passed_second_factor(request, set(authenticators)):
            messages.info(request, _("Enter a code from your authenticator app to open the administration."))
            return _redirect(reverse("mfa_reauthenticate"), target)
        if is_login:
            return HttpResponseRedirect(target)
        if request.path == reverse("admin:password_change"):
            return HttpResponseRedirect(reverse("account_change_password"))
        return None

    @staticmethod
    def _next(request: HttpRequest) -> str:
        """Where the admin's login page was asked to go next: an address on this site, else the admin."""
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:index")


def _redirect(url: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url}, safe='/')}")
