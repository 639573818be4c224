"""The locker's reveal flow and what tells keys apart (issue #13; ESD-8, ESD-15, LOCK-4)."""

import re

import pytest
from django.urls import reverse

from locker.models import ProductKey, RevealEvent
from tests.factories import make_product, make_user, org_of, place_order, stock


def _deliver_twice(reseller, customer, django_capture_on_commit_callbacks):
    product = make_product(name="Office Home 2024")
    stock(product, 2)
    with django_capture_on_commit_callbacks(execute=True):
        first = place_order(reseller, (product, 1), email=customer.email)
    with django_capture_on_commit_callbacks(execute=True):
        second = place_order(reseller, (product, 1), email=customer.email)
    return first, second


@pytest.mark.django_db
def test_esd15_keys_of_two_orders_of_one_product_are_told_apart(
    client, reseller, end_customer, django_capture_on_commit_callbacks
):
    """Each card names the order it came with and the reseller who sold it."""
    first, second = _deliver_twice(reseller, end_customer, django_capture_on_commit_callbacks)
    client.force_login(end_customer)
    html = client.get(reverse("locker:index")).content.decode()
    seller = org_of(reseller).name
    metas = re.findall(r'<p class="muted key-card__meta">(.*?)</p>', html)
    assert len(metas) == 2
    assert any(f"Order #{first.pk}<" in m for m in metas) and any(f"Order #{second.pk}<" in m for m in metas)
    assert all(seller in m for m in metas)


@pytest.mark.django_db
def test_esd8_reveal_address_opened_by_get_goes_back_to_the_locker(
    client, end_customer, reseller, django_capture_on_commit_callbacks
):
    """Reloading or reopening the reveal address never answers 405: a GET goes back to the locker (keeping
    its page), reveals nothing and records nothing (LOCK-4)."""
    _deliver_twice(reseller, end_customer, django_capture_on_commit_callbacks)
    key = ProductKey.objects.filter(owner=end_customer).first()
    client.force_login(end_customer)
    url = reverse("locker:reveal", args=[key.pk])
    response = client.get(url + "?before=abc")
    assert response.status_code == 302 and response["Location"] == reverse("locker:index") + "?before=abc"
    assert not RevealEvent.objects.exists()
    # Someone else's key: the same answer, nothing learnt.
    stranger = make_user(None, email="stranger@end.test", password=None)
    client.force_login(stranger)
    assert client.get(url)["Location"] == reverse("locker:index")


@pytest.mark.django_db
def test_esd8_revealed_card_offers_copy_instead_of_reveal(
    client, end_customer, reseller, django_capture_on_commit_callbacks
):
    """After a reveal (without the page's script) the card shows the key with a copy button and no longer
    offers "Reveal key"; the other card still does; the answer is never cached."""
    _deliver_twice(reseller, end_customer, django_capture_on_commit_callbacks)
    keys = list(ProductKey.objects.filter(owner=end_customer))
    client.force_login(end_customer)
    response = client.post(reverse("locker:reveal", args=[keys[0].pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    cards = dict(re.findall(r'data-key-id="([0-9a-f-]+)">(.*?)</article>', html, re.S))
    shown, other = cards[str(keys[0].pk)], cards[str(keys[1].pk)]
    assert "data-revealed" in shown and "data-copy-near" in shown
    # Its copy button is shown by the page's script; the other card's waits for its reveal.
    assert "data-reveal>" not in shown and "data-copy-pending" not in shown
    assert "data-reveal>" in other and "data-revealed" not in other and "data-copy-pending" in other
    # The page loads the script that reveals in place, from a file (CSP).
    assert "/static/js/locker" in html and "<script>" not in html
    assert RevealEvent.objects.filter(key=keys[0]).count() == 1
