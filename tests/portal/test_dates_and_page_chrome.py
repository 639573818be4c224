"""core.dates gives the |date filter's text; base.html's cached parts never carry one visitor's data to
another (ALL-4: they follow the language)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from django.template import Context, Template
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from core.dates import DateFormatter
from tests.factories import make_org, make_user

# Around the 2026 changes of summer time in Europe/Warsaw (29 March, 25 October), midnight and noon.
MOMENTS = [
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime(2026, 11, 23, 23, 0, tzinfo=UTC),
    datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("language", ["en", "pl", "de", "fr", "cs"])
@pytest.mark.parametrize("name", ["DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"])
def test_all4_date_formatter_gives_the_date_filters_text(language, name):
    template = Template(f'{{{{ value|date:"{name}" }}}}')
    with translation.override(language), timezone.override("Europe/Warsaw"):
        formatter = DateFormatter(name)
        for moment in MOMENTS + [m + timedelta(seconds=17) for m in MOMENTS]:
            assert formatter(moment) == template.render(Context({"value": moment})), (moment, language)
        assert formatter(None) == ""


def test_date_formatter_with_seconds_in_the_format_tells_them_apart(settings):
    settings.DATETIME_FORMAT = "Y-m-d H:i:s"
    with translation.override(None), timezone.override("UTC"):
        formatter = DateFormatter("DATETIME_FORMAT")
        first, second = MOMENTS[-1], MOMENTS[-1] + timedelta(seconds=1)
        assert formatter(first) == "2027-01-01 00:00:00" and formatter(second) == "2027-01-01 00:00:01"


@pytest.mark.django_db
@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chrome-default"},
        "templates": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chrome-test"},
    }
)
def test_all4_cached_page_parts_follow_language_and_menu_and_keep_no_visitor_data(end_customer):
    """The header parts rendered once per process: each visitor still gets their own menu, e-mail, CSRF
    token and path, in their own language."""
    caches["templates"].clear()
    org = make_org(name="Reseller & Sons")
    admin = make_user(org, email="admin@reseller.test")
    member = make_user(org, email="member@reseller.test", role="member")
    pages = {}
    for user, path in ((admin, "orders:list"), (member, "orders:list"), (end_customer, "locker:index")):
        for language in ("en", "pl"):
            client = Client(HTTP_ACCEPT_LANGUAGE=language)
            client.force_login(user)
            html = client.get(reverse(path)).content.decode()
            pages[user.email, language] = (html, client.cookies["csrftoken"].value)
    for (email, language), (html, _csrf) in pages.items():
        assert f'<html lang="{language}">' in html and f'<option value="{language}" selected>' in html
        assert html.count(" selected>") == 1 and f">{email}</span>" in html
        others = {e for e, _ in pages} - {email}
        assert not any(f">{other}</span>" in html for other in others)
        is_reseller = email != end_customer.email
        assert ('href="/orders/new/"' in html) is is_reseller
        assert ('href="/locker/"' in html) is not is_reseller
        with translation.override(language):
            tokens_label = translation.gettext("API tokens")
        assert (f">{tokens_label}<" in html) is (email == admin.email)
        assert (">API tokens<" in html) is (email == admin.email and language == "en")
        assert 'name="next" type="hidden" value="/orders/"' in html or not is_reseller
    tokens = [html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0] for html, _ in pages.values()]
    assert len(set(tokens)) == len(tokens)
    assert "Reseller &amp; Sons" in pages[admin.email, "en"][0]
