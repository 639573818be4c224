"""The customer centre's pages (CC-6, CC-11, ALL-1, ALL-2): the overview and People (the licences are in
``licence_views``).

Views only translate: they take the organisation from ``accounts.tenancy`` (the mixins below), validate
the form, call one service and render; refusals come from the services as ``CentreError`` and go to the
form (``core.errors.add_to_form``) with everything typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import Membership, Organisation
from accounts.tenancy import Tenancy, tenancy_of
from core.errors import add_to_form
from core.paging import KeysetPage

from .errors import CentreError
from .forms import InviteForm, PersonForm
from .selectors import people_page, person_get, person_history
from .services.people import admin_hand_over, person_invite, person_remove, person_update

USER_MANAGEMENT = Membership.Right.USER_MANAGEMENT.value


class CustomerRequiredMixin(LoginRequiredMixin):
    """Resolves ``self.organisation`` (and ``self.tenancy``) once; only a request acting for a customer
    organisation gets through, and with ``required_right`` set only one whose membership gives that right
    (CC-6): 403 otherwise. Every read and write is then scoped to ``self.organisation`` (ALL-1)."""

    required_right: str = ""
    organisation: Organisation
    tenancy: Tenancy

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        tenancy = tenancy_of(request)
        if tenancy.customer is None:
            raise PermissionDenied
        if self.required_right and not tenancy.has_right(self.required_right):
            raise PermissionDenied
        self.tenancy, self.organisation = tenancy, tenancy.customer
        return super().dispatch(request, *args, **kwargs)


class UserManagementRequiredMixin(CustomerRequiredMixin):
    required_right = USER_MANAGEMENT


class CustomerListView(CustomerRequiredMixin, View):
    """A keyset-paged list of what the organisation may see (ALL-1, ALL-3): ``list_page`` is the list's
    selector (organisation, before, after → ``core.paging.KeysetPage``); ``template_name`` gets the
    organisation, the page's rows (named ``rows_name``), the pager's links and ``extra_context()``."""

    template_name: str
    list_page: Callable[..., KeysetPage]
    rows_name = "rows"

    def extra_context(self) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest) -> HttpResponse:
        page = self.list_page(
            organisation=self.organisation, before=request.GET.get("before"), after=request.GET.get("after")
        )
        context = {"organisation": self.organisation, self.rows_name: page.rows, **page.links()}
        return render(request, self.template_name, {**context, **self.extra_context()})


class CentreHomeView(CustomerRequiredMixin, View):
    """The organisation, its customer id and what the person's rights let them open."""

    def get(self, request: HttpRequest) -> HttpResponse:
        membership = self.tenancy.active
        assert membership is not None
        rights = [label for value, label in Membership.Right.choices if value in membership.rights]
        context = {
            "organisation": self.organisation,
            "membership": membership,
            "rights": rights,
            "can_manage_people": self.tenancy.has_right(USER_MANAGEMENT),
            "can_see_licences": self.tenancy.has_right(Membership.Right.LICENCES.value),
            "can_download": self.tenancy.has_right(Membership.Right.DOWNLOADS.value),
        }
        return render(request, "centre/home.html", context)


class PeopleView(CustomerListView):
    required_right = USER_MANAGEMENT
    template_name = "centre/people.html"
    list_page = staticmethod(people_page)
    rows_name = "people"

    def extra_context(self) -> dict[str, Any]:
        return {"me": self.tenancy.active}


class InviteView(UserManagementRequiredMixin, View):
    template = "centre/invite.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template, {"form": InviteForm(), "organisation": self.organisation})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                membership = person_invite(
                    organisation=self.organisation,
                    actor=request.user,
                    email=form.cleaned_data["email"],
                    full_name=form.cleaned_data["full_name"],
                    rights=form.cleaned_data["rights"],
                )
            except CentreError as error:
                add_to_form(form, error)
            else:
                messages.success(
                    request,
                    _("%(email)s was added; a mail tells them how to log in.")
                    % {"email": membership.user.email},
                )
                return redirect("centre:person", membership.pk)
        return render(request, self.template, {"form": form, "organisation": self.organisation})


class PersonView(UserManagementRequiredMixin, View):
    """One person: role, state and rights in one form, the hand-over and removal, and the history."""

    template = "centre/person.html"

    def _membership(self, pk: int) -> Membership:
        try:
            return person_get(organisation=self.organisation, membership_id=pk)
        except Membership.DoesNotExist:
            raise Http404 from None

    def _render(self, request: HttpRequest, membership: Membership, form: PersonForm) -> HttpResponse:
        me = self.tenancy.active
        assert me is not None
        actor_is_admin = me.is_admin
        context = {
            "organisation": self.organisation,
            "person": membership,
            "form": form,
            "is_me": membership.pk == me.pk,
            "can_edit": actor_is_admin or not membership.is_admin,
            "can_hand_over": actor_is_admin and membership.pk != me.pk and membership.active,
            "can_remove": actor_is_admin or not membership.is_admin,
            "history": _history_rows(
                person_history(organisation=self.organisation, person_id=membership.user_id)
            ),
        }
        return render(request, self.template, context)

    def _form(self, membership: Membership, data: Any = None) -> PersonForm:
        me = self.tenancy.active
        return PersonForm(data, membership=membership, actor_is_admin=bool(me and me.is_admin))

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        membership = self._membership(pk)
        return self._render(request, membership, self._form(membership))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        membership = self._membership(pk)
        form = self._form(membership, request.POST)
        if form.is_valid():
            try:
                person_update(
                    organisation=self.organisation,
                    actor=request.user,
                    membership_id=membership.pk,
                    role=form.cleaned_data["role"],
                    active=form.cleaned_data["active"],
                    rights=form.cleaned_data["rights"],
                )
            except CentreError as error:
                if error.code == "not_found":
                    raise Http404 from None
                add_to_form(form, error)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect("centre:person", membership.pk)
        return self._render(request, membership, form)


def _history_rows(events: list[Any]) -> list[dict[str, Any]]:
    """Each event with its rights afterwards named for people (the event keeps the values)."""
    names = dict(Membership.Right.choices)
    rows = []
    for event in events:
        after = (event.data or {}).get("after") or {}
        rights = [str(names[r]) for r in after.get("rights", []) if r in names]
        rows.append({"event": event, "rights_after": ", ".join(rights)})
    return rows


class _PersonActionView(PersonView):
    """A one-button action on a person (POST only); a refusal shows on the person's page."""

    http_method_names = ["post"]

    def act(self, request: HttpRequest, membership: Membership) -> HttpResponse:
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        membership = self._membership(pk)
        try:
            return self.act(request, membership)
        except CentreError as error:
            if error.code == "not_found":
                raise Http404 from None
            # The page as it stands, with the refusal in the form's error summary.
            current = {"role": membership.role, "rights": sorted(membership.rights)}
            if membership.active:
                current["active"] = "on"
            form = self._form(membership, current)
            form.is_valid()
            add_to_form(form, error)
            return self._render(request, membership, form)


class HandOverView(_PersonActionView):
    def act(self, request: HttpRequest, membership: Membership) -> HttpResponse:
        admin_hand_over(organisation=self.organisation, actor=request.user, membership_id=membership.pk)
        messages.success(
            request,
            _("%(email)s is now an administrator, and you are not.") % {"email": membership.user.email},
        )
        return redirect("centre:person", membership.pk)


class RemoveView(_PersonActionView):
    def act(self, request: HttpRequest, membership: Membership) -> HttpResponse:
        person_remove(organisation=self.organisation, actor=request.user, membership_id=membership.pk)
        messages.success(
            request, _("%(email)s was removed from the list.") % {"email": membership.user.email}
        )
        if membership.user_id == request.user.pk:
            return redirect("home")
        return redirect("centre:people")
