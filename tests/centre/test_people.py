"""People and rights of a customer (CC-6), each person acting for one organisation at a time (CC-11),
another organisation's people out of reach (ALL-1), forms that keep what was typed (ALL-2), and every
change recorded with who did it and the rights before and after (ALL-3)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.urls import reverse

from accounts.models import Membership, Organisation, User
from accounts.tenancy import tenancy_for
from centre.errors import CentreError
from centre.models import Invitation, PeopleEvent
from centre.services.people import (
    admin_hand_over,
    person_deactivate,
    person_demote,
    person_invite,
    person_promote,
    person_reactivate,
    person_remove,
    person_rights_set,
)
from centre.tasks import send_invitation
from tests.conftest import run_concurrently
from tests.factories import DEFAULT_PASSWORD, make_org, make_user

DOWNLOADS = Membership.Right.DOWNLOADS.value
LICENCES = Membership.Right.LICENCES.value
USER_MANAGEMENT = Membership.Right.USER_MANAGEMENT.value


@pytest.fixture
def customer(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER, name="Acme Sp. z o.o.", customer_id="C-1", tax_id="PL 526-025-09-95"
    )


@pytest.fixture
def admin(customer: Organisation) -> User:
    return make_user(customer, email="boss@acme.test", role=Membership.Role.ADMIN)


@pytest.fixture
def colleague(customer: Organisation) -> User:
    user = make_user(customer, email="dl@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=user).update(right_downloads=True)
    return user


def membership(user: User, organisation: Organisation) -> Membership:
    return Membership.objects.get(user=user, organisation=organisation)


def invite(customer: Organisation, actor: User, email: str, rights: list[str], capture: Any) -> Membership:
    with capture(execute=True):
        return person_invite(organisation=customer, actor=actor, email=email, rights=rights)


# --- invitations ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc6_invite_makes_an_account_without_password_and_mails_a_set_password_link(
    customer, admin, django_capture_on_commit_callbacks
):
    m = invite(
        customer, admin, "New.Person@Acme.test", [DOWNLOADS, LICENCES], django_capture_on_commit_callbacks
    )
    user = User.objects.get(email="new.person@acme.test")
    assert m.user == user and m.role == Membership.Role.MEMBER and m.active
    assert m.rights == {DOWNLOADS, LICENCES}
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["new.person@acme.test"] and "Acme Sp. z o.o." in sent.subject
    assert "/accounts/password/reset/key/" in sent.body
    assert Invitation.objects.get(person=user).mail_sent_at is not None


@pytest.mark.django_db
def test_cc6_invite_an_existing_account_keeps_its_password_and_mails_a_login_link(
    customer, admin, django_capture_on_commit_callbacks
):
    existing = make_user(None, email="known@elsewhere.test", full_name="Known Person")
    before = existing.password
    invite(customer, admin, "KNOWN@elsewhere.test", [DOWNLOADS], django_capture_on_commit_callbacks)
    existing.refresh_from_db()
    assert existing.password == before and existing.full_name == "Known Person"
    assert authenticate(username="known@elsewhere.test", password=DEFAULT_PASSWORD) == existing
    body = mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in body and reverse("account_login") in body
    assert membership(existing, customer).rights == {DOWNLOADS}


@pytest.mark.django_db
def test_cc6_all5_the_invitation_mail_goes_once_however_often_the_task_runs(
    customer, admin, django_capture_on_commit_callbacks
):
    invite(customer, admin, "once@acme.test", [], django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    assert send_invitation.apply(args=[invitation.pk]).get() == "done"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_cc6_all2_invite_form_keeps_input_and_shows_errors_by_field(client, customer, admin, colleague):
    client.force_login(admin)
    url = reverse("centre:invite")
    response = client.post(url, {"email": "not-an-address", "full_name": "Ann Typed", "rights": [DOWNLOADS]})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in html and 'value="not-an-address"' in html and 'value="Ann Typed"' in html
    assert re.search(rf'value="{DOWNLOADS}"[^>]* checked', html)
    assert not re.search(rf'value="{LICENCES}"[^>]* checked', html)
    # Someone already in the list: the refusal is next to the address, what was typed stays.
    response = client.post(url, {"email": "DL@acme.test", "full_name": "Dee", "rights": [LICENCES]})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_email_error"' in html
    assert "already in your organisation" in html and 'value="DL@acme.test"' in html
    assert Membership.objects.filter(organisation=customer).count() == 2


@pytest.mark.django_db
def test_cc6_invite_through_the_page(client, customer, admin, django_capture_on_commit_callbacks):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("centre:invite"), {"email": "page@acme.test", "rights": [DOWNLOADS, USER_MANAGEMENT]}
        )
    m = Membership.objects.get(user__email="page@acme.test")
    assert response.status_code == 302 and response["Location"] == reverse("centre:person", args=[m.pk])
    assert m.rights == {DOWNLOADS, USER_MANAGEMENT} and len(mail.outbox) == 1


# --- rights, state, role ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc6_all3_rights_change_is_recorded_with_actor_and_before_after(customer, admin, colleague):
    m = membership(colleague, customer)
    person_rights_set(organisation=customer, actor=admin, membership_id=m.pk, rights=[LICENCES, DOWNLOADS])
    m.refresh_from_db()
    assert m.rights == {LICENCES, DOWNLOADS}
    event = PeopleEvent.objects.get(kind=PeopleEvent.Kind.RIGHTS_CHANGED)
    assert event.actor == admin and event.person == colleague and event.organisation == customer
    assert event.data["before"]["rights"] == [DOWNLOADS]
    assert event.data["after"]["rights"] == sorted([LICENCES, DOWNLOADS])
    # Nothing changed: nothing recorded.
    person_rights_set(organisation=customer, actor=admin, membership_id=m.pk, rights=[LICENCES, DOWNLOADS])
    assert PeopleEvent.objects.filter(kind=PeopleEvent.Kind.RIGHTS_CHANGED).count() == 1
    with pytest.raises(TypeError):
        event.delete()  # history is append-only


@pytest.mark.django_db
def test_cc6_deactivated_people_keep_their_history_but_cannot_act(client, customer, admin, colleague):
    m = membership(colleague, customer)
    person_deactivate(organisation=customer, actor=admin, membership_id=m.pk)
    m.refresh_from_db()
    assert not m.active and m.rights == {DOWNLOADS}
    tenancy = tenancy_for(colleague)
    assert tenancy.organisation is None and not tenancy.has_right(DOWNLOADS)
    client.force_login(colleague)
    assert client.get(reverse("centre:home")).status_code == 403
    person_reactivate(organisation=customer, actor=admin, membership_id=m.pk)
    assert tenancy_for(colleague).has_right(DOWNLOADS)
    kinds = list(PeopleEvent.objects.filter(person=colleague).values_list("kind", flat=True))
    assert kinds == [PeopleEvent.Kind.DEACTIVATED, PeopleEvent.Kind.REACTIVATED]


@pytest.mark.django_db
def test_cc6_promote_gives_every_right_and_demote_keeps_them(customer, admin, colleague):
    m = membership(colleague, customer)
    person_promote(organisation=customer, actor=admin, membership_id=m.pk)
    assert tenancy_for(colleague).has_right(USER_MANAGEMENT) and tenancy_for(colleague).is_admin
    person_demote(organisation=customer, actor=admin, membership_id=m.pk)
    m.refresh_from_db()
    assert m.role == Membership.Role.MEMBER and m.rights == set(Membership.Right.values)
    demoted = PeopleEvent.objects.get(kind=PeopleEvent.Kind.DEMOTED)
    assert demoted.data["before"]["role"] == "admin" and demoted.data["after"]["role"] == "member"


@pytest.mark.django_db
@pytest.mark.parametrize("action", [person_demote, person_deactivate, person_remove])
def test_cc6_the_last_administrator_cannot_be_demoted_deactivated_or_removed(
    action, customer, admin, colleague
):
    m = membership(admin, customer)
    with pytest.raises(CentreError) as refused:
        action(organisation=customer, actor=admin, membership_id=m.pk)
    assert refused.value.code == "last_administrator"
    m.refresh_from_db()
    assert m.role == Membership.Role.ADMIN and m.active
    assert not PeopleEvent.objects.exists()


@pytest.mark.django_db
def test_cc6_all2_last_administrator_refusal_shows_next_to_the_field(client, customer, admin):
    m = membership(admin, customer)
    client.force_login(admin)
    url = reverse("centre:person", args=[m.pk])
    response = client.post(url, {"role": "member", "active": "on", "rights": [DOWNLOADS]})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_role_error"' in html and "last administrator" in html
    response = client.post(url, {"role": "admin", "rights": []})  # "active" unticked
    assert 'id="id_active_error"' in response.content.decode()
    response = client.post(reverse("centre:remove", args=[m.pk]))
    assert response.status_code == 200 and "last administrator" in response.content.decode()
    assert Membership.objects.filter(pk=m.pk, role="admin", active=True).exists()


@pytest.mark.django_db
def test_cc6_hand_over_the_administrator_role(client, customer, admin, colleague):
    client.force_login(admin)
    target = membership(colleague, customer)
    response = client.post(reverse("centre:hand_over", args=[target.pk]))
    assert response.status_code == 302
    target.refresh_from_db()
    mine = membership(admin, customer)
    assert target.role == Membership.Role.ADMIN and mine.role == Membership.Role.MEMBER
    assert mine.rights == set(Membership.Right.values)  # keeps every right until someone changes them
    handed = PeopleEvent.objects.get(kind=PeopleEvent.Kind.HANDED_OVER)
    assert handed.actor == admin and handed.person == admin and handed.data["hand_over_to"] == colleague.email
    assert PeopleEvent.objects.get(kind=PeopleEvent.Kind.PROMOTED).person == colleague
    # The new administrator may now demote the old one; the old one may no longer change an administrator.
    with pytest.raises(CentreError) as refused:
        person_demote(organisation=customer, actor=admin, membership_id=target.pk)
    assert refused.value.code == "not_an_administrator"


@pytest.mark.django_db
def test_cc6_a_user_manager_who_is_not_an_administrator_cannot_touch_administrators(customer, admin):
    manager = make_user(customer, email="hr@acme.test", role=Membership.Role.MEMBER)
    Membership.objects.filter(user=manager).update(right_user_management=True)
    admin_m = membership(admin, customer)
    for action in (person_deactivate, person_demote, person_remove):
        with pytest.raises(CentreError) as refused:
            action(organisation=customer, actor=manager, membership_id=admin_m.pk)
        assert refused.value.code == "not_an_administrator"
    with pytest.raises(CentreError):
        person_promote(organisation=customer, actor=manager, membership_id=membership(manager, customer).pk)


@pytest.mark.django_db
def test_cc6_remove_takes_a_person_off_the_list_and_keeps_the_history(customer, admin, colleague):
    m = membership(colleague, customer)
    person_remove(organisation=customer, actor=admin, membership_id=m.pk)
    assert not Membership.objects.filter(pk=m.pk).exists() and User.objects.filter(pk=colleague.pk).exists()
    event = PeopleEvent.objects.get(kind=PeopleEvent.Kind.REMOVED)
    assert event.data["before"]["rights"] == [DOWNLOADS] and event.data["after"] is None


# --- who reaches the pages --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc6_only_user_management_reaches_the_people_pages(client, customer, admin, colleague, reseller):
    m = membership(colleague, customer)
    client.force_login(colleague)  # downloads only
    assert client.get(reverse("centre:home")).status_code == 200
    for url in (reverse("centre:people"), reverse("centre:invite"), reverse("centre:person", args=[m.pk])):
        assert client.get(url).status_code == 403
    assert client.post(reverse("centre:remove", args=[m.pk])).status_code == 403
    client.force_login(reseller)  # a reseller is not a customer
    assert client.get(reverse("centre:home")).status_code == 403
    assert client.get(reverse("centre:people")).status_code == 403
    client.force_login(admin)
    assert client.get(reverse("centre:people")).status_code == 200
    Membership.objects.filter(user=colleague).update(right_user_management=True)
    client.force_login(colleague)
    assert client.get(reverse("centre:people")).status_code == 200


@pytest.mark.django_db
def test_all1_another_organisations_membership_id_is_404(client, customer, admin):
    other = make_org(Organisation.Kind.CUSTOMER, "Other Customer")
    stranger = make_user(other, email="x@other.test", role=Membership.Role.MEMBER)
    theirs = membership(stranger, other)
    client.force_login(admin)
    assert client.get(reverse("centre:person", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("centre:person", args=[theirs.pk]), {"role": "member"}).status_code == 404
    assert client.post(reverse("centre:remove", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("centre:hand_over", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("centre:person", args=[999999])).status_code == 404
    with pytest.raises(CentreError) as refused:
        person_deactivate(organisation=customer, actor=admin, membership_id=theirs.pk)
    assert refused.value.code == "not_found"
    assert Membership.objects.get(pk=theirs.pk).active


@pytest.mark.django_db
def test_cc11_a_person_in_two_customers_sees_only_the_chosen_ones_people(client, customer, admin):
    second = make_org(Organisation.Kind.CUSTOMER, "Zeta Customer")
    make_user(second, email="zeta-only@zeta.test", role=Membership.Role.MEMBER)
    Membership.objects.create(user=admin, organisation=second, role=Membership.Role.ADMIN)
    client.force_login(admin)
    page = client.get(reverse("centre:people")).content.decode()
    assert "boss@acme.test" in page and "zeta-only@zeta.test" not in page  # Acme first by name
    client.post(reverse("organisation_switch"), {"organisation": second.pk})
    page = client.get(reverse("centre:people")).content.decode()
    assert "zeta-only@zeta.test" in page and "Zeta Customer" in page
    assert "Acme" not in client.get(reverse("centre:home")).content.decode().split("<main")[1]
    acme_m = membership(admin, customer)
    assert client.get(reverse("centre:person", args=[acme_m.pk])).status_code == 404


@pytest.mark.django_db
def test_cc6_the_people_list_costs_the_same_queries_for_3_or_60_people(
    client, customer, admin, django_assert_max_num_queries
):
    client.force_login(admin)
    client.get(reverse("centre:people"))  # session and caches warm
    for i in range(2):
        make_user(customer, email=f"p{i}@acme.test", role=Membership.Role.MEMBER)
    with django_assert_max_num_queries(4):
        small = client.get(reverse("centre:people"))
    for i in range(2, 60):
        make_user(customer, email=f"p{i}@acme.test", role=Membership.Role.MEMBER)
    with django_assert_max_num_queries(4):
        big = client.get(reverse("centre:people"))
    assert small.status_code == big.status_code == 200
    # 61 people, 25 a page, newest first: the oldest (the administrator) is on the third page.
    html, pages = big.content.decode(), 1
    while 'href="?before=' in html:
        cursor = html.split('href="?before=')[1].split('"')[0]
        html, pages = client.get(reverse("centre:people") + "?before=" + cursor).content.decode(), pages + 1
    assert pages == 3 and "boss@acme.test" in html and 'href="?after=' in html


@pytest.mark.django_db
def test_cc6_the_home_page_shows_customer_id_and_what_rights_open(client, customer, admin, colleague):
    client.force_login(colleague)
    html = client.get(reverse("centre:home")).content.decode()
    assert "C-1" in html and "Downloads" in html and reverse("centre:people") not in html
    assert 'href="/centre/">Customer centre</a>' in html  # the header's link
    client.force_login(admin)
    html = client.get(reverse("centre:home")).content.decode()
    assert reverse("centre:people") in html


# --- the race ---------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc6_two_administrators_demoting_each_other_at_once_leave_one():
    """CC-6: two administrators demote each other at the same moment: the row lock on the organisation's
    administrators makes them take turns, and the second is refused as the last administrator."""
    for _round in range(5):
        org = make_org(Organisation.Kind.CUSTOMER)
        a = make_user(org, role=Membership.Role.ADMIN)
        b = make_user(org, role=Membership.Role.ADMIN)
        ma, mb = membership(a, org), membership(b, org)

        def demote(actor: User, target: Membership, organisation: Organisation = org) -> str:
            try:
                person_demote(organisation=organisation, actor=actor, membership_id=target.pk)
            except CentreError as error:
                return error.code
            return "ok"

        outcomes = run_concurrently([partial(demote, a, mb), partial(demote, b, ma)])
        assert sorted(outcomes) == ["last_administrator", "ok"] or sorted(outcomes) == [
            "not_an_administrator",
            "ok",
        ], outcomes
        assert Membership.objects.filter(organisation=org, role="admin", active=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cc6_two_administrators_deactivating_themselves_at_once_leave_one():
    org = make_org(Organisation.Kind.CUSTOMER)
    a = make_user(org, role=Membership.Role.ADMIN)
    b = make_user(org, role=Membership.Role.ADMIN)
    ma, mb = membership(a, org), membership(b, org)

    def deactivate(actor: User, target: Membership) -> str:
        try:
            person_deactivate(organisation=org, actor=actor, membership_id=target.pk)
        except CentreError as error:
            return error.code
        return "ok"

    outcomes = run_concurrently([partial(deactivate, a, ma), partial(deactivate, b, mb)])
    assert sorted(outcomes) == ["last_administrator", "ok"]
    assert Membership.objects.filter(organisation=org, role="admin", active=True).count() == 1


@pytest.mark.django_db
def test_cc6_hand_over_needs_an_active_colleague(customer, admin, colleague):
    target = membership(colleague, customer)
    with pytest.raises(CentreError) as refused:
        admin_hand_over(organisation=customer, actor=admin, membership_id=membership(admin, customer).pk)
    assert refused.value.code == "hand_over_to_self"
    person_deactivate(organisation=customer, actor=admin, membership_id=target.pk)
    with pytest.raises(CentreError) as refused:
        admin_hand_over(organisation=customer, actor=admin, membership_id=target.pk)
    assert refused.value.code == "inactive" and refused.value.field == "active"
    assert membership(admin, customer).role == Membership.Role.ADMIN
