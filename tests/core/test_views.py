"""core.views: the pages behind a mailed link, built the same way by every app (issue #12)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from core.views import LinkConfirmView, LinkSentView

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "dead.html": "dead within {{ days }} days",
                        "sent.html": "sent to {{ email }}, {{ days }}",
                    },
                )
            ]
        },
    }
]


class Dead(Exception):
    pass


class Confirm(LinkConfirmView):
    error = Dead
    unavailable_template = "dead.html"
    shown_settings = {"days": "SUPPORT_WEB_FORM_HOLD_DAYS"}
    confirmed: list[Any] = []

    def load(self, token: str) -> str:
        if token != "good":
            raise Dead
        return "thing"

    def page(self, request: HttpRequest, found: str) -> HttpResponse:
        return HttpResponse(f"confirm {found}?")

    def confirm(self, request: HttpRequest, found: str) -> HttpResponse:
        if found in self.confirmed:
            raise Dead  # the service refuses: confirmed already
        self.confirmed.append(found)
        return HttpResponse(f"{found} confirmed")


@pytest.fixture
def rf() -> RequestFactory:
    return RequestFactory()


@override_settings(TEMPLATES=TEMPLATES, SUPPORT_WEB_FORM_HOLD_DAYS=9)
def test_a_link_is_confirmed_only_by_post_and_a_dead_one_gets_one_page(rf):
    Confirm.confirmed = []
    view = Confirm.as_view()
    shown = view(rf.get("/"), token="good")
    assert shown.content == b"confirm thing?" and Confirm.confirmed == []  # GET changes nothing
    assert "no-cache" in shown["Cache-Control"]  # the token is in the URL
    assert view(rf.post("/"), token="good").content == b"thing confirmed"
    assert Confirm.confirmed == ["thing"]
    for response in (  # a forged link on either method, and a confirmation the service refuses
        view(rf.get("/"), token="forged"),
        view(rf.post("/"), token="forged"),
        view(rf.post("/"), token="good"),
    ):
        assert response.status_code == 200
        assert response.content.decode() == "dead within 9 days"


@override_settings(TEMPLATES=TEMPLATES, SUPPORT_WEB_FORM_HOLD_DAYS=4)
def test_the_link_sent_page_shows_the_typed_address_or_goes_back_to_the_form(rf):
    class Sent(LinkSentView):
        session_key, form_url, template_name = "sent_to", "/form/", "sent.html"
        shown_settings = {"days": "SUPPORT_WEB_FORM_HOLD_DAYS"}

    request = rf.get("/")
    request.session = SessionStore()
    assert Sent.as_view()(request)["Location"] == "/form/"
    request.session["sent_to"] = "a@example.com"
    assert Sent.as_view()(request).content.decode() == "sent to a@example.com, 4"
