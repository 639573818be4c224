"""Settings → API tokens: a reseller administrator creates, names and revokes tokens (shown once)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.tenancy import ResellerAdminRequiredMixin
from core.errors import add_to_form

from .models import ApiToken
from .services import TokenError, api_token_create, api_token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("Where the token is used, e.g. “Web shop”."),
    )


class TokenListView(ResellerAdminRequiredMixin, View):
    template = "api/tokens.html"

    def _render(self, request: HttpRequest, form: TokenForm, new_token: str | None = None) -> HttpResponse:
        tokens = ApiToken.objects.for_org(self.organisation).select_related("created_by")
        response = render(request, self.template, {"tokens": tokens, "form": form, "new_token": new_token})
        if new_token:
            response["Cache-Control"] = "no-store, private"
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, TokenForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _record, token = api_token_create(
                    organisation=self.organisation, user=request.user, name=form.cleaned_data["name"]
                )
            except TokenError as exc:
                add_to_form(form, exc)
            else:
                return self._render(request, TokenForm(), new_token=token)
        return self._render(request, form)


class TokenRevokeView(ResellerAdminRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            record = api_token_revoke(organisation=self.organisation, token_id=pk)
        except ApiToken.DoesNotExist:
            raise Http404 from None
        messages.success(request, _("Token “%(name)s” was revoked.") % {"name": record.name})
        return redirect("api_tokens:list")
