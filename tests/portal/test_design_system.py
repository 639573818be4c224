"""The design system (issue #13): badge contrast, fields whose aria-describedby points at ids that exist, the
error summary, tables that stack with their labels, the shell every page shares, the style guide (ALL-2,
ALL-4, ALL-6)."""

from __future__ import annotations

import importlib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.core.cache import caches
from django.template import Context, Template
from django.test import Client, override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse

from accounts.models import MailDomain
from api.services import api_token_create
from tests.factories import org_of

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "static" / "css" / "portal.css").read_text()


# --- contrast (WCAG 2.2 AA: 4.5:1 for text below 18.5 px bold) ---------------------------------------
def _luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    channels = [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _variables() -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", CSS))


def _resolve(value: str, variables: dict[str, str]) -> str:
    value = value.strip()
    match = re.fullmatch(r"var\((--[\w-]+)\)", value)
    return variables[match.group(1)] if match else value


def _rules(selector_pattern: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every rule whose selector matches the pattern."""
    found = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        if re.search(selector_pattern, selectors):
            declarations = dict(
                (name.strip(), value.strip())
                for name, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
            )
            found.append((selectors.strip(), declarations))
    return found


def test_all6_every_badge_colour_pair_meets_aa_contrast():
    """ALL-6: every badge (12.8 px, bold) has at least 4.5:1 between its text and its background; the old
    "Awaiting stock" pair had 4.33:1."""
    variables = _variables()
    rules = [(s, d) for s, d in _rules(r"\.badge") if "background" in d and "color" in d]
    assert len(rules) >= 6, rules
    for selector, declarations in rules:
        ratio = contrast(
            _resolve(declarations["color"], variables), _resolve(declarations["background"], variables)
        )
        assert ratio >= 4.5, (selector, round(ratio, 2))
    for state in ("placed", "awaiting_stock", "fulfilled", "cancelled", "queued", "sent", "failed", "yes"):
        assert f".badge--{state}" in CSS, state
    assert contrast("#a86400", "#fff5e5") < 4.5  # the pair this replaced, for the record


def test_all6_text_and_button_colours_meet_aa_contrast():
    """ALL-6: muted text on the page and on cards, links and the buttons' text all reach 4.5:1."""
    v = _variables()
    pairs = [
        ("--color-muted", "--color-bg"),
        ("--color-muted", "--color-surface"),
        ("--color-ink", "--color-bg"),
        ("--color-brand", "--color-surface"),
        ("--color-brand-ink", "--color-brand"),
        ("--color-brand-ink", "--color-bad-solid"),
        ("--color-bad", "--color-bad-bg"),
        ("--color-topbar-ink", "--color-topbar"),
    ]
    for fg, bg in pairs:
        assert contrast(v.get(fg, "#fff"), v[bg]) >= 4.5, (fg, bg)


def test_all6_phone_rules_stack_tables_and_keep_touch_targets():
    """ALL-6: below 640 px tables become cards whose cells show their column's label, nothing scrolls in an
    inner box, and buttons, fields, chips and header links are 44 px tall."""
    phone = CSS.split("@media (max-width: 639.98px)")[1]
    assert "td[data-label]::before" in phone and "attr(data-label)" in phone
    assert "overflow-x" not in CSS.split("/* ordering")[0]
    assert "--tap: 44px" in CSS
    for selector in (".btn, button", "select, textarea", ".filters a, .chip", ".nav a"):
        rule = next(d for s, d in _rules(re.escape(selector)) if "min-height" in d)
        assert rule["min-height"] == "var(--tap)", selector
    assert "overflow-wrap: anywhere" in CSS
    assert "input[type=url]" in CSS  # the webhook URL field looks like every other field
    assert ":focus-visible" in CSS and ".skip-link" in CSS


# --- fields and their aria-describedby ------------------------------------------------------------------
class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "aria-describedby" and value:
                self.described.extend(value.split())


def assert_describedby_ids_exist(html: str) -> list[str]:
    """Every id an aria-describedby names is on the page; returns them."""
    parser = _Ids()
    parser.feed(html)
    missing = [i for i in parser.described if i not in parser.ids]
    assert not missing, missing
    return parser.described


class _Form(forms.Form):
    domain = forms.CharField(label="Mail domain", help_text="e.g. shop.example.com")
    plain = forms.CharField(label="Plain")
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[("a", "A"), ("b", "B")],
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick",
    )


@pytest.mark.parametrize("include", ["components/_field.html", "_field.html"])
def test_all2_field_describedby_points_at_its_help_and_its_error(include):
    """ALL-2: a field's aria-describedby names its help and its error, and both ids are rendered (the old
    _field.html pointed at ``id_domain_helptext``, which no element had); the old include still works."""
    template = Template(
        "{% for field in form %}{% include '" + include + "' %}{% endfor %}"
        "{% include 'components/_form_errors.html' %}"
    )
    unbound = template.render(Context({"form": _Form()}))
    assert "id_domain_helptext" in assert_describedby_ids_exist(unbound)
    assert "error-summary" not in unbound
    bound = template.render(Context({"form": _Form(data={"domain": "", "plain": "kept"})}))
    described = assert_describedby_ids_exist(bound)
    assert {"id_domain_helptext", "id_domain_error", "id_events_helptext", "id_events_error"} <= set(
        described
    )
    assert 'value="kept"' in bound and 'aria-invalid="true"' in bound
    assert "<legend>Events</legend>" in bound  # a checkbox list is a fieldset with a legend
    assert 'href="#id_domain"' in bound and 'href="#id_events"' in bound  # the summary links each field


@pytest.mark.django_db
def test_all2_settings_form_errors_are_summarised_and_kept(client, reseller):
    """ALL-2: a refused mail domain is listed in the summary at the top, next to its field, and what was
    typed comes back."""
    client.force_login(reseller)
    html = client.post(reverse("mail_domains:list"), {"domain": "not a domain!"}).content.decode()
    assert 'class="error-summary"' in html and 'href="#id_domain"' in html
    assert 'value="not a domain!"' in html and 'id="id_domain_error"' in html
    assert_describedby_ids_exist(html)


def _cells_without_label(html: str) -> list[str]:
    return [
        cell for cell in re.findall(r"<td(?![^>]*data-label)([^>]*)>", html) if "actions-cell" not in cell
    ]


@pytest.mark.django_db
def test_all6_settings_tables_label_every_cell_and_name_each_button(client, reseller, monkeypatch):
    """ALL-6: the token, mail-domain and webhook tables give every cell its column's label for the phone
    layout, and the Revoke/Remove buttons say which row they act on."""
    from webhooks import services as webhook_services

    monkeypatch.setattr(webhook_services.targets, "resolve", lambda url: None)
    org = org_of(reseller)
    api_token_create(organisation=org, user=reseller, name="Web shop")
    MailDomain.objects.create(organisation=org, domain="reseller-one.test", created_by=reseller)
    endpoint, _secret = webhook_services.endpoint_create(
        organisation=org,
        user=reseller,
        url="https://hooks.example.com/" + "very-long-path/" * 8,
        events=["order.fulfilled"],
    )
    client.force_login(reseller)
    for name, args in (
        ("api_tokens:list", []),
        ("mail_domains:list", []),
        ("webhooks:list", []),
        ("webhooks:detail", [endpoint.pk]),
    ):
        html = client.get(reverse(name, args=args)).content.decode()
        assert "<table" in html or name == "webhooks:detail", name
        assert not _cells_without_label(html), (name, _cells_without_label(html))
        assert "table-wrap" not in html or "overflow" not in html
    tokens = client.get(reverse("api_tokens:list")).content.decode()
    assert '<span class="visually-hidden"> Web shop</span>' in tokens and "data-confirm=" in tokens
    detail = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert '<h1 class="long">' in detail


@pytest.mark.django_db
def test_new_token_and_secret_have_a_copy_button(client, reseller):
    """The token shown once comes with a copy button that copies the shown element's text (portal.js)."""
    client.force_login(reseller)
    html = client.post(reverse("api_tokens:list"), {"name": "Shop"}).content.decode()
    token = html.split('id="token-value">')[1].split("<")[0]
    assert token and 'data-copy-target="token-value"' in html
    assert 'data-copied-text="Copied"' in html and " hidden>" in html  # shown by the script only


# --- the shell -------------------------------------------------------------------------------------------
@pytest.mark.django_db
@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ds-default"},
        "templates": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ds-templates"},
    }
)
def test_all6_shell_has_skip_link_live_region_and_names_the_portal_for_its_audience(reseller, end_customer):
    """The first link is "Skip to content" to #main; a polite live region is on every page; a reseller reads
    "Reseller portal", an end customer "My Digital Locker" (never "Reseller portal"), a visitor "Software
    portal", also with the header's parts served from the cache in any order."""
    caches["templates"].clear()
    seen: dict[str, str] = {}
    for who, path in ((None, "account_login"), (reseller, "orders:list"), (end_customer, "locker:index")):
        for _round in range(2):
            client = Client()
            if who is not None:
                client.force_login(who)
            html = client.get(reverse(path)).content.decode()
            seen[path] = html
            body = html.split("<body>", 1)[1]
            assert body.lstrip().startswith('<a class="skip-link" href="#main">Skip to content</a>')
            assert 'id="main" tabindex="-1"' in html
            assert 'id="live-status" class="visually-hidden" role="status" aria-live="polite"' in html
    assert "Software portal" in seen["account_login"] and "Reseller portal" not in seen["account_login"]
    assert "Reseller portal" in seen["orders:list"] and "My Digital Locker" not in seen["orders:list"]
    locker = seen["locker:index"]
    assert "Reseller portal" not in locker and "· Software portal</title>" in locker
    assert '<a class="brand" href="/locker/">My Digital Locker</a>' in locker


@pytest.mark.django_db
def test_messages_are_toasts_with_status_role(client, reseller):
    """Messages keep role=status and their classes; the script adds a close button labelled "Dismiss"."""
    client.force_login(reseller)
    html = client.post(reverse("mail_domains:list"), {"domain": "shop.reseller-one.test"}, follow=True)
    page = html.content.decode()
    assert '<ul class="messages" role="status" data-dismiss-label="Dismiss">' in page
    assert '<li class="msg msg--success"><span class="msg__text">' in page


# --- the style guide --------------------------------------------------------------------------------------
def test_styleguide_is_not_served_without_debug():
    with pytest.raises(NoReverseMatch):
        reverse("styleguide")


@pytest.mark.django_db
def test_styleguide_shows_every_component_with_debug(reseller: Any):
    """With DEBUG on, /styleguide/ shows each component templates/README.md describes."""
    import portal.urls

    try:
        with override_settings(DEBUG=True):
            importlib.reload(portal.urls)
            clear_url_caches()
            client = Client()
            client.force_login(reseller)
            response = client.get("/styleguide/")
            html = response.content.decode()
    finally:
        importlib.reload(portal.urls)
        clear_url_caches()
    assert response.status_code == 200
    for needle in (
        "btn--secondary",
        "btn--danger",
        "btn--ghost",
        "badge--awaiting_stock",
        'class="chip',
        'class="card',
        "error-summary",
        "data-label=",
        'class="pagination"',
        'class="empty',
        "data-copy-target=",
        "data-copy=",
        "confirm__warning",
        "stat--alert",
        "msg--error",
        "error-page",
    ):
        assert needle in html, needle
    assert_describedby_ids_exist(html)
    readme = (ROOT / "templates" / "README.md").read_text()
    for component in (
        "_field.html",
        "_form_errors.html",
        "_pager.html",
        "_empty.html",
        "_copy.html",
        "_badge.html",
        "_confirm.html",
        "_stat.html",
    ):
        assert component in readme and (ROOT / "templates" / "components" / component).exists(), component


# --- every string translatable (ALL-4) --------------------------------------------------------------------
OWN_TEMPLATES = [
    "base.html",
    "403.html",
    "404.html",
    "405.html",
    "500.html",
    "api/tokens.html",
    "webhooks/endpoints.html",
    "webhooks/endpoint_detail.html",
    "accounts/mail_domains.html",
    "portal/styleguide.html",
    *(f"components/{p.name}" for p in (ROOT / "templates" / "components").iterdir()),
    *(f"account/{p.name}" for p in (ROOT / "templates" / "account").glob("*.html")),
]
# Text that is not language: codes, symbols and technical names.
NOT_WORDS = re.compile(r"^(?:[\W\d_]+|HTTP|ms\)|--color-[\w-]+)$")


@pytest.mark.parametrize("name", OWN_TEMPLATES)
def test_all4_every_visible_string_of_the_shell_is_translatable(name):
    """ALL-4: with tags, template tags and comments removed, no word of English is left untranslated."""
    text = (ROOT / "templates" / name).read_text()
    text = re.sub(r"{% comment %}.*?{% endcomment %}", " ", text, flags=re.S)
    text = re.sub(r"{%\s*(blocktranslate|blocktrans)\b.*?{%\s*end\1\s*%}", " ", text, flags=re.S)
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<!DOCTYPE[^>]*>|<[^>]+>", " ", text, flags=re.S)
    text = re.sub(r"&\w+;", " ", text)
    leftovers = [w for w in text.split() if not NOT_WORDS.match(w)]
    assert not leftovers, leftovers
