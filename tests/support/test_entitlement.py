"""Who may ask (SUP-1..5): an active entitlement of the requester's organisation, a valid address, and one
domain per entitlement, bound by the first request, refused for another, moved by staff (recorded); two
first requests at once bind once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from centre.models import Licence
from support.errors import SupportError
from support.models import BindingEvent, EntitlementBinding, Kind, SupportRequest
from support.services.entitlement import entitlement_find, entitlement_rebind, normalise_host, url_clean
from support.services.requests import request_file
from tests.conftest import run_concurrently

from .conftest import book


def file(org, user, **extra):
    extra.setdefault("kind", Kind.SUPPORT)
    extra.setdefault("subject", "The shop does not start")
    extra.setdefault("body", "Since this morning the shop shows an error 500.")
    extra.setdefault("category", "technical_advice")
    extra.setdefault("url", "https://shop.acme.test/")
    return request_file(organisation=org, requester=user, **extra)


@pytest.mark.django_db
def test_sup1_sup3_a_direct_or_registered_licence_with_active_support_entitles(customer, pro, licence):
    """SUP-1, SUP-3: the licence of the organisation, direct or registered, support active."""
    assert entitlement_find(organisation=customer, support_number=licence.support_number) == licence
    registered = book(customer, pro, source=Licence.Source.REGISTERED)
    assert (
        entitlement_find(organisation=customer, support_number=registered.support_number.lower())
        == registered
    )


@pytest.mark.django_db
def test_sup3_all1_an_unknown_or_another_organisations_number_is_told_to_contact_the_seller_or_register(
    customer, other_customer, pro
):
    """SUP-3, ALL-1: a number the organisation does not hold, whether unknown or another's, gets the same
    answer: contact the seller or register the product (CC-10)."""
    theirs = book(other_customer, pro)
    for number in (theirs.support_number, "S-1999-000001"):
        with pytest.raises(SupportError) as refused:
            entitlement_find(organisation=customer, support_number=number)
        assert refused.value.code == "no_entitlement" and refused.value.field == "support_number"
        assert "/centre/register/" in refused.value.message and "seller" in refused.value.message


@pytest.mark.django_db
def test_sup2_an_ended_entitlement_says_when_it_ended_and_how_to_renew(customer, pro):
    """SUP-2: support ended (the purchase was 200 days ago, 6 months of support): the day and the renewal."""
    old = book(customer, pro, purchase_date=timezone.localdate() - timedelta(days=200))
    with pytest.raises(SupportError) as refused:
        entitlement_find(organisation=customer, support_number=old.support_number)
    assert refused.value.code == "support_ended"
    assert "renew" in refused.value.message and old.support_number in refused.value.message


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("https://WWW.Shop.Example.com/admin", "shop.example.com"),
        ("shop.example.com", "shop.example.com"),
        ("http://shop.example.com:8080/x?y=1", "shop.example.com"),
        ("https://sklep.zażółć.pl/", "sklep.xn--za-6ja4f8n1l.pl"),
        ("https://SKLEP.ZAŻÓŁĆ.PL", "sklep.xn--za-6ja4f8n1l.pl"),
    ],
)
def test_sup4_sup5_the_host_is_normalised(typed, host):
    """SUP-4, SUP-5: lower case, no www., no port, IDNA; an address without a scheme gets https://."""
    url, found = url_clean(typed)
    assert found == host and url.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "typed", ["", "   ", "not a url", "ftp://shop.example.com", "https://", "javascript:alert(1)"]
)
def test_sup4_a_missing_or_invalid_address_is_refused_on_the_url_field(typed):
    """SUP-4: without a valid address the request is refused, next to the field."""
    with pytest.raises(SupportError) as refused:
        url_clean(typed)
    assert refused.value.field == "url"


def test_sup5_normalise_host_drops_a_trailing_dot():
    assert normalise_host("Shop.Example.COM.") == "shop.example.com"


@pytest.mark.django_db
def test_sup5_the_first_request_binds_the_host_and_another_host_is_refused_with_nothing_stored(
    customer, member, licence
):
    """SUP-5: the first request binds its host; a request for another domain is refused (it needs its own
    entitlement) and leaves no request and no number behind (gapless)."""
    first = file(customer, member, support_number=licence.support_number, url="https://www.shop.acme.test/")
    binding = EntitlementBinding.objects.get(licence=licence)
    assert binding.host == "shop.acme.test" and binding.bound_by == member
    assert BindingEvent.objects.get(binding=binding).kind == BindingEvent.Kind.BOUND
    same = file(customer, member, support_number=licence.support_number, url="shop.acme.test/cart")
    with pytest.raises(SupportError) as refused:
        file(customer, member, support_number=licence.support_number, url="https://other-shop.test/")
    assert refused.value.code == "bound_elsewhere" and refused.value.field == "url"
    assert "shop.acme.test" in refused.value.message
    assert SupportRequest.objects.count() == 2
    year = timezone.localdate().year
    assert [first.number, same.number] == [f"SUP-{year}-1", f"SUP-{year}-2"]
    assert file(customer, member, support_number=licence.support_number).number == f"SUP-{year}-3"


@pytest.mark.django_db
def test_sup5_all3_staff_move_a_binding_and_it_is_recorded(customer, member, licence, staff):
    """SUP-5, ALL-3: a customer moved its shop: staff re-bind; the old host is refused, the new accepted."""
    file(customer, member, support_number=licence.support_number)
    entitlement_rebind(licence_id=licence.pk, host="https://new-shop.acme.test", actor=staff)
    event = BindingEvent.objects.filter(kind=BindingEvent.Kind.REBOUND).get()
    assert event.actor == staff and event.data == {"from": "shop.acme.test", "to": "new-shop.acme.test"}
    file(customer, member, support_number=licence.support_number, url="new-shop.acme.test")
    with pytest.raises(SupportError):
        file(customer, member, support_number=licence.support_number, url="shop.acme.test")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sup5_two_first_requests_for_two_hosts_at_once_make_exactly_one_binding(customer, member, licence):
    """SUP-5, race: two first requests for different hosts at the same moment, each in its own transaction:
    exactly one binding; one request is filed, the other refused for the other domain."""

    def attempt(host):
        def call():
            try:
                return file(
                    customer, member, support_number=licence.support_number, url=f"https://{host}/"
                ).host
            except SupportError as error:
                return error.code

        return call

    results = run_concurrently([attempt("one.acme.test"), attempt("two.acme.test")])
    assert sorted(results, key=lambda r: r == "bound_elsewhere")[1] == "bound_elsewhere"
    assert results.count("bound_elsewhere") == 1
    binding = EntitlementBinding.objects.get(licence=licence)
    assert binding.host in results
    assert SupportRequest.objects.count() == 1
    assert SupportRequest.objects.get().number.endswith("-1")
