"""The locker's first page kept in the shared cache (``locker.kept_cards``): served again while none of its
keys changed, shown anew after every write that changes a card (ESD-8, ESD-11, ESD-14, ESD-15), and never
holding a key in clear (LOCK-1, ESD-8)."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.kept import shared
from locker.models import ProductKey
from locker.services import keys_allocate, keys_purge_expired, keys_reassign
from tests.factories import make_org, make_product, make_user, stock

LOCKER = "/locker/"


@pytest.fixture(autouse=True)
def _shared_cache():
    """These tests prove what the shared cache (Redis) keeps; with a per-process cache nothing is kept and
    they would prove nothing, so they fail rather than pass."""
    assert shared(), "CACHE_URL must name Redis for these tests"


def _deliver(owner, n, **product_fields):
    product = make_product(**product_fields)
    stock(product, n)
    with transaction.atomic():
        ids = keys_allocate(product_id=product.pk, quantity=n, owner=owner)
    return product, ids


def _cards(html):
    return re.findall(r'data-key-id="([0-9a-f-]+)"', html)


def _page(client):
    response = client.get(LOCKER)
    assert response.status_code == 200
    return response.content.decode()


def _key_queries(client):
    """The page's HTML and how many of its queries read the keys table."""
    with CaptureQueriesContext(connection) as captured:
        html = _page(client)
    return html, sum("locker_productkey" in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db
def test_esd15_the_first_page_is_read_once_and_served_again_while_nothing_changed(client, end_customer):
    _deliver(end_customer, 3, name="Office Suite")
    client.force_login(end_customer)
    first, reads = _key_queries(client)
    again, reads_again = _key_queries(client)
    assert reads == 1 and reads_again == 0
    assert again == first.replace(_csrf(first), _csrf(again)) and len(_cards(again)) == 3


def _csrf(html):
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


@pytest.mark.django_db
def test_esd15_a_new_delivery_shows_at_once(client, end_customer):
    _deliver(end_customer, 2)
    client.force_login(end_customer)
    assert len(_cards(_page(client))) == 2
    _, new_ids = _deliver(end_customer, 1, name="Just Delivered")
    html = _page(client)
    assert len(_cards(html)) == 3 and str(new_ids[0]) in html and "Just Delivered" in html


@pytest.mark.django_db
def test_esd8_lock1_a_reveal_is_never_kept_and_its_card_then_says_when_it_was_opened(client, end_customer):
    """The reveal's answer shows the key; the page after it shows it masked again, with the first opening's
    date, and nothing the cache holds contains the key in clear."""
    product = make_product(name="Kept Product")
    plaintexts = stock(product, 1)
    with transaction.atomic():
        (key_id,) = keys_allocate(product_id=product.pk, quantity=1, owner=end_customer)
    client.force_login(end_customer)
    assert "First opened" not in _page(client)
    revealed = client.post(reverse("locker:reveal", args=[key_id])).content.decode()
    assert plaintexts[0] in revealed
    html = _page(client)
    assert plaintexts[0] not in html and "First opened" in html
    redis = cache._cache.get_client()  # type: ignore[attr-defined]
    stored = [redis.get(name) or b"" for name in redis.scan_iter("*locker.cards*")]
    assert stored and not any(plaintexts[0].encode() in value for value in stored)


@pytest.mark.django_db
def test_esd14_keys_moved_to_a_corrected_address_leave_one_locker_and_enter_the_other(client, end_customer):
    _, ids = _deliver(end_customer, 2, name="Moving Product")
    other = make_user(email="corrected@customer.test")
    client.force_login(other)
    assert _cards(_page(client)) == []
    client.force_login(end_customer)
    assert len(_cards(_page(client))) == 2
    with transaction.atomic():
        keys_reassign(key_ids=ids, new_owner=other, actor=None, data={})
    assert _cards(_page(client)) == []
    client.force_login(other)
    assert sorted(_cards(_page(client))) == sorted(str(i) for i in ids)


@pytest.mark.django_db
def test_esd11_a_destroyed_key_shows_as_destroyed(client, end_customer):
    _, (key_id,) = _deliver(end_customer, 1)
    client.force_login(end_customer)
    assert "this key was destroyed" not in _page(client)
    ProductKey.objects.filter(pk=key_id).update(allocated_at=timezone.now() - timedelta(days=800))
    assert keys_purge_expired() == 1
    assert "this key was destroyed" in _page(client)


@pytest.mark.django_db
def test_esd15_a_renamed_product_or_seller_shows_in_every_locker(client, end_customer):
    product, _ = _deliver(end_customer, 1, name="Old Name", installer_url="https://dl.example/old.exe")
    client.force_login(end_customer)
    assert "Old Name" in _page(client)
    product.name, product.installer_url = "New Name", "https://dl.example/new.exe"
    product.save()
    html = _page(client)
    assert "New Name" in html and "new.exe" in html and "Old Name" not in html
    seller = make_org(name="Seller Before")
    _page(client)
    seller.city = "Elsewhere"
    seller.save(update_fields=["city"])  # nothing a card shows
    assert _key_queries(client)[1] == 0
    seller.name = "Seller After"
    seller.save()  # a seller's name is on its cards: every locker reads again
    assert _key_queries(client)[1] == 1


@pytest.mark.django_db
def test_esd8_each_language_is_kept_apart(client, end_customer):
    _deliver(end_customer, 1)
    client.force_login(end_customer)
    english = client.get(LOCKER, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    german = client.get(LOCKER, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Reveal key" in english and "Reveal key" not in german


@pytest.mark.django_db
def test_esd8_later_pages_and_another_owner_are_never_served_from_one_owners_entry(client, end_customer):
    _deliver(end_customer, 55)
    client.force_login(end_customer)
    first = _cards(_page(client))
    older = re.search(r'<a href="\?(older|before)=([^"]+)"', _page(client))
    assert older is not None
    second = _cards(client.get(LOCKER, {older.group(1): older.group(2)}).content.decode())
    assert len(first) == 50 and len(second) == 5 and not set(first) & set(second)
    stranger = make_user(email="stranger@customer.test")
    client.force_login(stranger)
    assert _cards(_page(client)) == []
