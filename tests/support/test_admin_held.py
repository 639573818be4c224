"""The admin of held web-form requests (SUP-7) and the queue's team filter (SUP-12, VL-10): read-only
lists of what waits for an address to be confirmed, with its state (lapsed ones apart), whether the link
was mailed and the number it was filed as; constant queries however many rows; only the desk sees it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from support.admin import SupportRequestAdmin
from support.admin_filters import TeamFilter, visible_teams
from support.models import HeldWebRequest, Kind, SupportRequest, Team
from support.services.intake import reseller_request_file
from support.services.requests import request_file
from support.services.web_form import web_request_confirm, web_request_hold
from tests.factories import login_staff_with_mfa, make_org, make_user

HELD = reverse("admin:support_heldwebrequest_changelist")
QUEUE = reverse("admin:support_supportrequest_changelist")


def hold(email: str, subject: str, **extra) -> HeldWebRequest:
    return web_request_hold(
        email=email,
        kind=extra.pop("kind", Kind.PRE_SALES),
        subject=subject,
        body=extra.pop("body", "Does the PROFESSIONAL edition import from CSV?"),
        **extra,
    )


def desk_user(email: str, group: str | None):
    user = make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, f"Distributor {email}"), email=email, is_staff=True
    )
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])  # a flushed database lost the rows
    return user


def html_of(response) -> str:
    assert response.status_code == 200, response.content.decode()[:1000]
    return response.content.decode()


@pytest.mark.django_db
def test_sup7_held_web_requests_listed_read_only_with_state_mail_and_number(staff_client, licence):
    """SUP-7: the list shows each held request's state, e-mail, subject, when it lapses and whether the
    link was mailed; a confirmed one shows the number it was filed as, an old unconfirmed one "lapsed"; a
    refused one its state. Nothing can be added or changed."""
    waiting = hold("buyer@shop.test", "Question about CSV import")
    HeldWebRequest.objects.filter(pk=waiting.pk).update(mail_sent_at=timezone.now())
    lapsed = hold("late@shop.test", "Never confirmed")
    HeldWebRequest.objects.filter(pk=lapsed.pk).update(created_at=timezone.now() - timedelta(days=30))
    filed = hold(
        "owner@acme.test",
        "Checkout broken",
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category="technical_advice",
    )
    filed = web_request_confirm(held_id=filed.pk)
    refused = hold(
        "guess@nowhere.test",
        "Wrong number",
        kind=Kind.SUPPORT,
        support_number="S-NOPE-1",
        url="https://nowhere.test",
        category="technical_advice",
    )
    refused = web_request_confirm(held_id=refused.pk)
    assert filed.state == HeldWebRequest.State.FILED and refused.state == HeldWebRequest.State.REFUSED

    html = html_of(staff_client.get(HELD))
    for text in ("buyer@shop.test", "Question about CSV import", "late@shop.test", "owner@acme.test"):
        assert text in html
    assert filed.request.number in html
    assert "Lapsed (not confirmed in time)" in html
    assert "Waiting for the address to be confirmed" in html and "Refused" in html
    assert 'alt="True"' in html  # the link of ``waiting`` was mailed
    assert 'href="' + reverse("admin:support_heldwebrequest_add") not in html

    page = staff_client.get(reverse("admin:support_heldwebrequest_change", args=[refused.pk]))
    detail = html_of(page)
    assert "guess@nowhere.test" in detail and 'name="_save"' not in detail
    assert (
        staff_client.post(
            reverse("admin:support_heldwebrequest_change", args=[refused.pk]), {"email": "x@y.test"}
        ).status_code
        == 403
    )
    refused.refresh_from_db()
    assert refused.email == "guess@nowhere.test"


@pytest.mark.django_db
def test_sup7_held_filters_by_state_and_search_by_email(staff_client):
    """SUP-7: the state filter tells waiting from lapsed ones; the search finds by e-mail."""
    waiting = hold("buyer@shop.test", "Fresh question")
    lapsed = hold("late@shop.test", "Old question")
    HeldWebRequest.objects.filter(pk=lapsed.pk).update(created_at=timezone.now() - timedelta(days=30))

    def shown(query: str) -> set[str]:
        html = html_of(staff_client.get(HELD + "?" + query))
        return {h.subject for h in (waiting, lapsed) if h.subject in html}

    assert shown("state=held") == {"Fresh question"}
    assert shown("state=lapsed") == {"Old question"}
    assert shown("state=filed") == set()
    assert shown("q=late%40shop") == {"Old question"}
    assert shown("") == {"Fresh question", "Old question"}


@pytest.mark.django_db
def test_sup7_held_list_constant_queries_5_vs_50_rows(staff_client, django_assert_max_num_queries, customer):
    """SUP-7: the list's query count does not grow with its rows (the filed request comes in one join)."""

    def rows(n: int) -> None:
        """``n`` held requests, every other one filed as a request of its own."""
        start = HeldWebRequest.objects.count()
        filed = SupportRequest.objects.bulk_create(
            SupportRequest(number=f"SUP-1999-{start + i}", organisation=customer, subject="Filed")
            for i in range(n)
        )
        HeldWebRequest.objects.bulk_create(
            HeldWebRequest(
                email=f"p{start + i}@shop.test",
                subject=f"Bulk {start + i}",
                body="?",
                state=HeldWebRequest.State.FILED if i % 2 else HeldWebRequest.State.HELD,
                request=filed[i] if i % 2 else None,
            )
            for i in range(n)
        )

    rows(5)
    with CaptureQueriesContext(connection) as small:
        html_of(staff_client.get(HELD))
    rows(45)
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = html_of(staff_client.get(HELD))
    assert "Bulk 49" in html and "SUP-1999-48" in html


@pytest.mark.django_db
def test_sup7_sup12_agents_see_held_requests_other_staff_do_not(client):
    """SUP-12: a support agent sees the held web-form requests (they are support's); a licensing specialist
    or a staff member in no support group does not."""
    hold("buyer@shop.test", "Fresh question")
    agent = desk_user("agent@distributor.test", "Support agents")
    login_staff_with_mfa(client, agent)
    assert "buyer@shop.test" in html_of(client.get(HELD))
    client.logout()
    specialist = desk_user("licensing@distributor.test", "Licensing specialists")
    login_staff_with_mfa(client, specialist)
    assert client.get(HELD).status_code == 403
    client.logout()
    plain = desk_user("plain@distributor.test", None)
    login_staff_with_mfa(client, plain)
    assert client.get(HELD).status_code == 403


@pytest.mark.django_db
def test_sup12_vl10_team_filter_offers_the_teams_a_user_sees_and_narrows_the_queue(
    staff, customer, member, licence
):
    """SUP-12/VL-10: the team filter offers both teams to whoever sees both (a superuser), none to a support
    agent (one team only); choosing the licensing specialists leaves the ordering questions on volume
    licences."""
    reseller = make_org(Organisation.Kind.RESELLER, "Reseller Ltd")
    asker = make_user(reseller, email="buyer@reseller.test")
    volume = reseller_request_file(
        reseller=reseller,
        requester=asker,
        kind=Kind.VOLUME_ORDERING,
        subject="50 seats of CS-PRO",
        body="What is the price for 50 seats?",
    )
    support = request_file(
        organisation=customer,
        requester=member,
        kind=Kind.SUPPORT,
        support_number=licence.support_number,
        url="https://shop.acme.test",
        category="technical_advice",
        subject="Error",
        body="Broken",
    )
    assert volume.team == Team.LICENSING_SPECIALISTS and support.team == Team.SUPPORT_AGENTS
    model_admin = SupportRequestAdmin(SupportRequest, django_admin.site)

    def team_filter(user, value: str | None = None) -> TeamFilter:
        request = RequestFactory().get(QUEUE, {"team": value} if value else {})
        request.user = user
        params = {"team": [value]} if value else {}
        return TeamFilter(request, params, SupportRequest, model_admin)

    def narrowed(user, value: str) -> list[SupportRequest]:
        return list(team_filter(user, value).queryset(None, SupportRequest.objects.order_by("pk")))

    assert [v for v, _label in team_filter(staff).lookup_choices] == [
        Team.SUPPORT_AGENTS,
        Team.LICENSING_SPECIALISTS,
    ]
    assert narrowed(staff, Team.LICENSING_SPECIALISTS) == [volume]
    assert narrowed(staff, Team.SUPPORT_AGENTS) == [support]
    agent = desk_user("agent@distributor.test", "Support agents")
    assert visible_teams(agent) == [(Team.SUPPORT_AGENTS, Team.SUPPORT_AGENTS.label)]
    assert not team_filter(agent).has_output()
    assert narrowed(staff, "nobody") == [volume, support]
