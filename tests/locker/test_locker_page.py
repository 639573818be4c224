"""The end customer's locker page: pages of 50 cards, what a card shows, CSRF, escaping, constant queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from locker.models import ProductKey
from locker.services import keys_allocate
from tests.factories import make_product, stock


def _deliver(owner, n, **product_fields):
    product = make_product(**product_fields)
    keys = stock(product, n)
    with transaction.atomic():
        keys_allocate(product_id=product.pk, quantity=n, owner=owner)
    return product, keys


def _cards(html):
    return re.findall(r'<article class="card key-card" data-key-id="([0-9a-f-]+)"', html)


def _link(html, label):
    found = re.search(rf'<a href="\?([^"]+)" rel="(?:prev|next)">(?:<span[^>]*>.</span> )?{label}', html)
    return dict([found.group(1).split("=", 1)]) if found else None


@pytest.mark.django_db
def test_esd8_locker_pages_of_50_cover_every_key_once(client, end_customer):
    """ESD-8: 120 keys: pages of 50, 50 and 20 through "Older", newest delivery first, each key once; "Newer"
    leads back through the same pages."""
    _deliver(end_customer, 60)
    _deliver(end_customer, 60)
    now = timezone.now()
    ids = list(ProductKey.objects.filter(owner=end_customer).values_list("id", flat=True))
    for i, key_id in enumerate(ids):
        ProductKey.objects.filter(pk=key_id).update(allocated_at=now - timedelta(hours=i))
    client.force_login(end_customer)
    pages, query = [], {}
    while query is not None:
        html = client.get(reverse("locker:index"), query).content.decode()
        pages.append((query, _cards(html), _link(html, "Newer")))
        query = _link(html, "Older")
    assert [len(cards) for _, cards, _ in pages] == [50, 50, 20]
    assert [key for _, cards, _ in pages for key in cards] == [str(pk) for pk in ids]
    assert pages[0][2] is None  # the first page has nothing newer
    for (_, cards, _), (_, _, newer) in zip(pages, pages[1:], strict=False):
        assert _cards(client.get(reverse("locker:index"), newer).content.decode()) == cards


@pytest.mark.django_db
def test_esd15_locker_order_is_for_owner_by_delivery_then_product(end_customer, django_assert_num_queries):
    """ESD-15: the page shows ``ProductKey.objects.for_owner`` ordered by delivery (newest first), product
    and id (each newest first), so keys delivered at one moment are grouped by product; in one query,
    which loads what a card shows and never the sealed key material (LOCK-1)."""
    from locker.selectors import locker_page

    for name in ("Zeta", "Alpha", "Mid"):
        _deliver(end_customer, 3, name=name)
    ProductKey.objects.filter(owner=end_customer).update(allocated_at=timezone.now())
    _deliver(end_customer, 2, name="Newest")
    expected = list(
        ProductKey.objects.for_owner(end_customer)
        .order_by("-allocated_at", "-product_id", "-id")
        .values_list("id", flat=True)
    )
    with django_assert_num_queries(1) as captured:
        page = locker_page(owner=end_customer, size=50)
    assert [k["id"] for k in page.keys] == expected and (page.newer, page.older) == (None, None)
    names = [k["product_name"] for k in page.keys]
    assert names == ["Newest"] * 2 + ["Mid"] * 3 + ["Alpha"] * 3 + ["Zeta"] * 3
    sql = captured.captured_queries[0]["sql"]
    assert "ciphertext" not in sql and "wrapped_key" not in sql and "fingerprint" not in sql
    assert set(page.keys[0]) == {
        "id",
        "last5",
        "status",
        "allocated_at",
        "revealed_at",
        "purged_at",
        "product_id",
        "product_name",
        "installer_url",
        "order_id",
        "seller",
    }


@pytest.mark.django_db
def test_all2_locker_cursor_malformed_or_past_the_end(client, end_customer):
    """ALL-2: a malformed cursor, or one past the last key, shows the first page; never an error."""
    _deliver(end_customer, 60)
    client.force_login(end_customer)
    first_html = client.get(reverse("locker:index")).content.decode()
    first = _cards(first_html)
    older = _link(first_html, "Older")
    assert len(first) == 50 and len(_cards(client.get(reverse("locker:index"), older).content.decode())) == 10
    for bad in ("x", "1.2", "1.2.3", "1.x.00000000000000000000000000000000", "9" * 40 + ".1.zz"):
        for param in ("before", "after"):
            assert _cards(client.get(reverse("locker:index"), {param: bad}).content.decode()) == first
    past = "0.1.00000000000000000000000000000000"  # older than every key: nothing there
    assert _cards(client.get(reverse("locker:index"), {"before": past}).content.decode()) == first
    future = f"{9 * 10**16}.1.{'f' * 32}"  # newer than every key (year 4821): nothing there either
    assert _cards(client.get(reverse("locker:index"), {"after": future}).content.decode()) == first
    # A product id beyond what the database can compare is refused like any malformed cursor.
    huge = f"1.{2**63}.{'0' * 32}"
    assert _cards(client.get(reverse("locker:index"), {"before": huge}).content.decode()) == first


@pytest.mark.django_db
def test_esd15_locker_page_cost_does_not_grow_with_the_locker(end_customer):
    """ESD-15: a page reads only its own rows, in order, through key_locker_idx, wherever it is in a large locker,
    even deep inside one delivery (whose keys share their delivery time): no count, no sort, and no rows
    read and thrown away before the cursor (PostgreSQL's plan for the page's query, as the ORM writes it)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan")
    from core.paging import keyset_queryset, parse_cursor
    from locker import selectors

    _deliver(end_customer, 20)
    _deliver(end_customer, 20)  # one delivery of 40 keys, one moment
    ProductKey.objects.filter(owner=end_customer).update(allocated_at=timezone.now())
    keys = selectors.locker_page(owner=end_customer, size=50).keys
    position = parse_cursor(selectors.locker_cursor(keys[30]), selectors._KINDS)
    page = keyset_queryset(
        selectors.locker_keys(owner=end_customer), fields=selectors._ORDER, older_than=position
    )[:51]
    with connection.cursor() as cursor:
        # A tiny test table would be scanned whole and sorted; what is checked is that the index can give
        # the page's rows in order from the cursor on, so that PostgreSQL needs neither once it is large.
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        plan = page.explain(analyze=True, costs=False)
        assert [k["id"] for k in page] == [k["id"] for k in keys[31:]]
    assert "key_locker_idx" in plan and "Sort" not in plan and "WindowAgg" not in plan, plan
    assert "Rows Removed by Filter" not in plan, plan


@pytest.mark.django_db
def test_esd8_esd16_card_shows_product_masked_key_dates_and_installer_escaped(client, end_customer):
    """ESD-8 and ESD-16: each card names the product (escaped), shows the key masked, its delivery date,
    how long it stays available and the installer link; a product without installer shows no link."""
    product, keys = _deliver(end_customer, 1, name='Office <b>"Pro"</b> & Co')
    _deliver(end_customer, 1, installer_url="")
    client.force_login(end_customer)
    html = client.get(reverse("locker:index")).content.decode()
    assert (
        "Office &lt;b&gt;&#34;Pro&#34;&lt;/b&gt; &amp; Co" in html and "<b>" not in html
    )  # escaped (Jinja2, core.rows)
    assert html.count('rel="noopener">Download installer</a>') == 1 and product.installer_url in html
    assert keys[0] not in html and "•••••-•••••-•••••-•••••-" + keys[0][-5:] in html
    record = ProductKey.objects.get(product=product)
    delivered = formats.date_format(timezone.localtime(record.allocated_at), "DATE_FORMAT")
    until = formats.date_format(timezone.localtime(record.available_until()), "DATE_FORMAT")
    assert f"Delivered {delivered}" in html and f"Available until {until}" in html


@pytest.mark.django_db
def test_lock4_esd8_revealed_key_shows_in_the_reveal_response_only(client, end_customer):
    """LOCK-4/ESD-8: the plaintext is in the owner's no-store reveal response, never in the locker page."""
    _product, keys = _deliver(end_customer, 2)
    client.force_login(end_customer)
    key_id = _cards(client.get(reverse("locker:index")).content.decode())[0]
    response = client.post(reverse("locker:reveal", args=[key_id]))
    assert response["Cache-Control"] == "no-store, private"
    shown = [k for k in keys if k in response.content.decode()]
    assert len(shown) == 1
    # In the card of the key revealed, and there only.
    card = re.search(
        r'data-key-id="([0-9a-f-]+)"[^>]*>(?:(?!</article>).)*data-revealed="1">([^<]+)<',
        response.content.decode(),
        re.S,
    )
    assert card.groups() == (key_id, shown[0])
    assert response.content.decode().count('data-revealed="1"') == 1
    page = client.get(reverse("locker:index"))
    html = page.content.decode()
    assert shown[0] not in html and "no-store" not in page.get("Cache-Control", "")
    opened = ProductKey.objects.get(pk=key_id).revealed_at
    assert f"First opened {formats.date_format(timezone.localtime(opened), 'DATETIME_FORMAT')}" in html


@pytest.mark.django_db
def test_esd8_reveal_buttons_post_the_pages_form_with_a_working_csrf_token(end_customer):
    """ESD-8: each card's "Reveal key" button posts the page's one reveal form, which carries the page's
    CSRF token (the same as the header's forms), to that card's key; a POST without the token fails."""
    _deliver(end_customer, 3)
    client = Client(enforce_csrf_checks=True)
    client.force_login(end_customer)
    html = client.get(reverse("locker:index")).content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert len(tokens) == 1 + 2 and len(set(tokens)) == 1  # the reveal form, language and log-out
    assert re.search(
        r'<form id="reveal" method="post" hidden[^>]*><input type="hidden" name="csrfmiddlewaretoken"', html
    )
    key_ids = _cards(html)
    buttons = re.findall(r'<button type="submit" form="reveal" formaction="([^"]+)"', html)
    assert buttons == [reverse("locker:reveal", args=[key_id]) for key_id in key_ids]
    url = buttons[0]
    assert client.post(url, HTTP_ACCEPT="application/json").status_code == 403
    response = client.post(url, {"csrfmiddlewaretoken": tokens[0]}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_esd11_destroyed_key_card(client, end_customer):
    """ESD-11: a destroyed key keeps its card: masked, the date it was destroyed, no reveal button."""
    _deliver(end_customer, 1)
    purged_at = timezone.now() - timedelta(days=3)
    ProductKey.objects.filter(owner=end_customer).update(status=ProductKey.Status.PURGED, purged_at=purged_at)
    client.force_login(end_customer)
    html = client.get(reverse("locker:index")).content.decode()
    when = formats.date_format(timezone.localtime(purged_at), "DATE_FORMAT")
    assert f"this key was destroyed on {when}." in html
    assert "Reveal key" not in html and "Available until" not in html and len(_cards(html)) == 1


@pytest.mark.django_db
def test_esd15_locker_shows_only_the_owners_keys(client, end_customer):
    """ESD-8/ESD-15: another locker account's keys, and keys still in stock, never show."""
    from tests.factories import make_user

    mine, _ = _deliver(end_customer, 2)
    other = make_user(None, email="other@end.test", password=None)
    _deliver(other, 2)
    stock(mine, 2)
    client.force_login(end_customer)
    html = client.get(reverse("locker:index")).content.decode()
    assert sorted(_cards(html)) == sorted(
        str(pk) for pk in ProductKey.objects.filter(owner=end_customer).values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_esd8_locker_queries_do_not_grow_with_keys(client, end_customer, django_assert_max_num_queries):
    """ESD-8: the locker page costs the same few queries for 2 keys or 130, on the first page or further
    on (a page is found by position, never by counting)."""
    url = reverse("locker:index")
    client.force_login(end_customer)
    client.get(url)  # the session is in the cache from here on
    _deliver(end_customer, 2)
    with CaptureQueriesContext(connection) as few:
        assert len(_cards(client.get(url).content.decode())) == 2
    assert len(few) <= 3

    _deliver(end_customer, 128)
    html, query, pages = "", {}, []
    for link in ("Older", "Older", "Newer"):
        with django_assert_max_num_queries(len(few)):
            html = client.get(url, query).content.decode()
        pages.append(len(_cards(html)))
        query = _link(html, link)
    with django_assert_max_num_queries(len(few)):
        pages.append(len(_cards(client.get(url, query).content.decode())))
    assert pages == [50, 50, 30, 50]
