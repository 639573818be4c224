"""The memberships every signed-in request acts on come from the cache (``accounts.membership_cache``),
and every way they or their organisations change acts at the person's next request: a deactivated
membership never opens its organisation again (CC-6, ALL-1), a new one shows in the switcher (CC-11), an
organisation that stops being a reseller no longer orders."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import membership_cache, tenancy
from accounts.models import Membership, Organisation
from accounts.tenancy import tenancy_for
from tests.factories import make_org, make_user


def _read_twice(user):
    tenancy_for(user)
    with CaptureQueriesContext(connection) as ctx:
        again = tenancy_for(user)
    assert len(ctx) == 0, [q["sql"] for q in ctx.captured_queries]
    return again


@pytest.mark.django_db
def test_cc6_cc11_all1_every_kind_of_change_acts_at_the_next_request():
    org = make_org(Organisation.Kind.CUSTOMER, "Customer Kept")
    person = make_user(org, email="kept@customer.test", role=Membership.Role.MEMBER)
    assert _read_twice(person).organisation == org

    # Saved (the people pages' way, CC-6): deactivated, it acts for nobody.
    membership = Membership.objects.get(user=person)
    membership.active = False
    membership.save()
    assert tenancy_for(person).organisation is None

    # A bulk update sends no signal; the queryset makes the memberships stale itself.
    Membership.objects.filter(user=person).update(active=True)
    assert _read_twice(person).organisation == org

    # A new membership, also in bulk, is offered in the switcher (CC-11).
    other = make_org(Organisation.Kind.RESELLER, "Another Firm")
    Membership.objects.bulk_create([Membership(user=person, organisation=other)])
    assert [o.name for o in _read_twice(person).organisations] == ["Another Firm", "Customer Kept"]

    # An organisation's kind and name, saved or in bulk.
    other.kind = Organisation.Kind.CUSTOMER
    other.save()
    assert tenancy_for(person).reseller is None and tenancy_for(person, chosen=other.pk).customer == other
    Organisation.objects.filter(pk=other.pk).update(name="Zebra Firm")
    assert [o.name for o in _read_twice(person).organisations] == ["Customer Kept", "Zebra Firm"]

    # Deleted: the membership, then the organisation with the other (cascade).
    Membership.objects.filter(user=person, organisation=org).delete()
    assert [o.name for o in _read_twice(person).organisations] == ["Zebra Firm"]
    other.delete()
    assert _read_twice(person).memberships == ()


@pytest.mark.django_db
def test_all1_memberships_read_just_before_a_change_are_never_served(monkeypatch):
    """Another request reads the memberships, a deactivation commits before it stores them: what it
    stores is under the token the deactivation replaced, so the next request reads the database."""
    org = make_org(Organisation.Kind.CUSTOMER)
    person = make_user(org, email="race@customer.test", role=Membership.Role.MEMBER)
    membership_cache.forget([person.pk])
    read = tenancy._read_memberships

    def read_then_changed(user):
        found = read(user)
        Membership.objects.filter(user=user).update(active=False)  # the change lands after the read
        return found

    monkeypatch.setattr(tenancy, "_read_memberships", read_then_changed)
    assert tenancy_for(person).organisation == org  # that request acted on what it read
    monkeypatch.setattr(tenancy, "_read_memberships", read)
    assert tenancy_for(person).organisation is None


@pytest.mark.django_db
def test_all1_an_entry_never_passes_to_another_account_with_the_same_id():
    """A cache that outlived its database (rebuilt, restored) keeps entries under ids now given to other
    accounts: the account's creation time, stored with the entry, tells them apart."""
    org = make_org(Organisation.Kind.RESELLER, "Someone Else's")
    person = make_user(email="fresh@customer.test")
    assert tenancy_for(person).memberships == ()
    token_key, kept_key = membership_cache._keys(person.pk)
    stranger = Membership(user_id=person.pk, organisation=org, role=Membership.Role.ADMIN)
    cache.set(kept_key, ([cache.get(token_key)], None, (stranger,)))  # joined at another time
    assert tenancy_for(person).memberships == () and tenancy_for(person).reseller is None


@pytest.mark.django_db
def test_all1_a_change_in_a_transaction_is_forgotten_again_when_it_commits(
    django_capture_on_commit_callbacks,
):
    org = make_org(Organisation.Kind.CUSTOMER)
    person = make_user(org, email="commit@customer.test", role=Membership.Role.MEMBER)
    token_key = membership_cache._keys(person.pk)[0]
    tenancy_for(person)
    before = cache.get(token_key)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Membership.objects.filter(user=person).update(active=False)
        during = cache.get(token_key)
        tenancy_for(person)  # another request between the write and the commit would keep this
    assert before != during and len(callbacks) == 1
    callbacks[0]()
    assert cache.get(token_key) not in (before, during)
    assert tenancy_for(person).organisation is None


@pytest.mark.django_db
def test_cc6_a_per_process_cache_keeps_nothing(settings):
    """Development's default cache is per process: a change made by a management command or a worker
    would never reach the web process's entry, so with such a cache the memberships are read every time."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    org = make_org(Organisation.Kind.CUSTOMER)
    person = make_user(org, email="local@customer.test", role=Membership.Role.MEMBER)
    tenancy_for(person)
    with CaptureQueriesContext(connection) as ctx:
        assert tenancy_for(person).organisation == org
    assert len(ctx) == 1


@pytest.mark.django_db
def test_all1_a_membership_moved_to_someone_else_leaves_the_first_person_at_once():
    org = make_org(Organisation.Kind.CUSTOMER, "Moved Customer")
    first = make_user(org, email="first@customer.test", role=Membership.Role.MEMBER)
    second = make_user(email="second@customer.test")
    assert _read_twice(first).organisation == org and _read_twice(second).organisation is None
    membership = Membership.objects.get(user=first)
    membership.user = second
    membership.save()
    assert tenancy_for(first).organisation is None and tenancy_for(second).organisation == org
    Membership.objects.filter(pk=membership.pk).update(user=first)  # and back, in bulk
    assert tenancy_for(second).organisation is None and tenancy_for(first).organisation == org
