"""The order list's search, its "needs attention" filters and its CSV export (issue #13; ALL-1, ALL-2, ESD-7,
ESD-8)."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from orders.selectors import OrderFilter, order_list
from tests.factories import make_org, make_product, make_user, org_of, place_order, stock


def _order(reseller, email, *, days_ago=1, status=Order.Status.PLACED, product=None, quantity=1, **fields):
    order = Order.objects.create(reseller=org_of(reseller), placed_by=reseller, end_customer_email=email)
    product = product or make_product()
    order.lines.create(product=product, quantity=quantity, unit_price=product.unit_price)
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago), status=status, **fields
    )
    order.refresh_from_db()
    return order


def _ids(html):
    return [int(pk) for pk in re.findall(r'<a href="/orders/(\d+)/">#', html)]


@pytest.mark.django_db
def test_all1_search_by_number_day_or_address_finds_only_the_organisations_orders(
    client, reseller, other_reseller
):
    """Search: an order number (with or without #), the day it was placed (ISO or as the language writes
    it) or the start of the address, case-insensitive; another reseller's order is never found (ALL-1)."""
    anna = _order(reseller, "anna@shop.test", days_ago=3)
    bob = _order(reseller, "bob@shop.test", days_ago=1)
    theirs = _order(other_reseller, "anna@elsewhere.test", days_ago=3)
    client.force_login(reseller)
    url = reverse("orders:list")

    def found(q, **headers):
        return sorted(_ids(client.get(url, {"q": q}, headers=headers).content.decode()))

    assert found(str(anna.pk)) == [anna.pk]
    assert found(f"#{bob.pk}") == [bob.pk]
    assert found("ANNA@") == [anna.pk] and found("b") == [bob.pk]
    day = timezone.localtime(anna.created_at).date()
    assert found(day.isoformat()) == [anna.pk]
    assert found(day.strftime("%d.%m.%Y"), accept_language="de") == [anna.pk]  # as German writes it
    assert found(str(theirs.pk)) == [] and found("anna@elsewhere") == []
    html = client.get(url, {"q": "nobody@"}).content.decode()
    assert "No orders here." in html and 'value="nobody@"' in html  # what was typed is kept (ALL-2)


@pytest.mark.django_db
def test_search_and_filters_stay_on_the_pages_links(client, reseller, monkeypatch):
    """Newer/Older keep the search and the filter, so paging a search result stays in it."""
    from orders.views import OrderListView

    monkeypatch.setattr(OrderListView, "paginate_by", 2)
    for i in range(5):
        _order(reseller, f"same{i}@shop.test", days_ago=1 + i)
    _order(reseller, "other@shop.test")
    client.force_login(reseller)
    html = client.get(reverse("orders:list"), {"q": "same"}).content.decode()
    older = re.search(r'<a href="\?([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    assert older.startswith("q=same&before=")
    seen = _ids(html) + _ids(client.get(reverse("orders:list") + "?" + older).content.decode())
    assert len(seen) == 4 and len(set(seen)) == 4


@pytest.mark.django_db
def test_esd7_attention_filters_failed_mails_and_unopened_deliveries(client, reseller, settings):
    """ "Welcome mail failed" lists orders whose mail could not be delivered (not cancelled ones); "Keys not
    opened" lists deliveries older than DASHBOARD_UNOPENED_DAYS whose keys nobody opened (ESD-7)."""
    settings.DASHBOARD_UNOPENED_DAYS = 5
    failed = _order(reseller, "f@shop.test", welcome_mail_status=Order.MailStatus.FAILED)
    _order(
        reseller, "fc@shop.test", status=Order.Status.CANCELLED, welcome_mail_status=Order.MailStatus.FAILED
    )
    old = _order(reseller, "old@shop.test", days_ago=9, status=Order.Status.FULFILLED)
    Order.objects.filter(pk=old.pk).update(fulfilled_at=timezone.now() - timedelta(days=8))
    recent = _order(reseller, "new@shop.test", status=Order.Status.FULFILLED)
    Order.objects.filter(pk=recent.pk).update(fulfilled_at=timezone.now() - timedelta(days=1))
    opened = _order(reseller, "seen@shop.test", days_ago=9, status=Order.Status.FULFILLED)
    Order.objects.filter(pk=opened.pk).update(
        fulfilled_at=timezone.now() - timedelta(days=8), keys_accessed_at=timezone.now()
    )
    client.force_login(reseller)
    url = reverse("orders:list")
    assert _ids(client.get(url, {"attention": "mail_failed"}).content.decode()) == [failed.pk]
    assert _ids(client.get(url, {"attention": "unopened"}).content.decode()) == [old.pk]
    # An unknown filter is ignored rather than refused (ALL-2).
    assert client.get(url, {"attention": "x", "status": "y"}).status_code == 200


@pytest.mark.django_db
def test_order_list_with_search_keeps_constant_queries(client, reseller, django_assert_max_num_queries):
    """A searched or filtered page costs the same few queries however many orders match."""
    for i in range(30):
        _order(reseller, f"many{i}@shop.test", days_ago=1 + i % 3)
    client.force_login(reseller)
    client.get(reverse("orders:list"))
    for query in ({"q": "many"}, {"q": "#1"}, {"attention": "unopened"}, {"status": "placed", "q": "m"}):
        with django_assert_max_num_queries(4):
            assert client.get(reverse("orders:list"), query).status_code == 200


@pytest.mark.django_db
def test_address_search_is_served_by_an_index(reseller):
    """The address search can start in ``order_email_prefix_idx`` (reseller, address with the LIKE
    operator class) rather than reading every order of the reseller."""
    if connection.vendor != "postgresql":
        pytest.skip("operator classes are PostgreSQL's")
    org = org_of(reseller)
    Order.objects.bulk_create(
        Order(reseller=org, placed_by=reseller, end_customer_email=f"{i:04}@shop.test") for i in range(3000)
    )
    _order(reseller, "a@shop.test")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    qs = order_list(organisation=org_of(reseller), find=OrderFilter(search="a@sh")).values("id")
    plan = qs.explain()
    assert "order_email_prefix_idx" in plan, plan


@pytest.mark.django_db
def test_esd8_csv_export_follows_the_filter_is_formula_safe_and_holds_no_key(
    client, reseller, other_reseller
):
    """The export has every order the filter shows (not just a page), products per line, spreadsheet-safe
    cells, only this organisation's orders (ALL-1), and never a key (ESD-8)."""
    product = make_product(sku="OFF-24")
    keys = stock(product, 2)
    delivered = place_order(reseller, (product, 2), email="=cmd@shop.test")
    other = _order(reseller, "zed@shop.test")
    _order(other_reseller, "=cmd@elsewhere.test")
    client.force_login(reseller)
    response = client.get(reverse("orders:export"), {"q": "=cmd"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "Order" and len(rows) == 2
    assert rows[1][0] == str(delivered.pk) and rows[1][2] == "'=cmd@shop.test" and rows[1][3] == "OFF-24 × 2"
    assert not any(k in body or k[-5:] in body for k in keys)
    everything = b"".join(client.get(reverse("orders:export")).streaming_content).decode("utf-8-sig")
    assert str(other.pk) in everything and "elsewhere" not in everything


@pytest.mark.django_db
def test_only_resellers_export(client, end_customer):
    client.force_login(end_customer)
    assert client.get(reverse("orders:export")).status_code == 403
    client.logout()
    assert client.get(reverse("orders:export")).status_code == 302


@pytest.mark.django_db
def test_list_shows_each_orders_products(client, reseller):
    """The product column names the first line's product and how many more lines there are."""
    one = _order(reseller, "one@shop.test", product=make_product(name="Office Pro 2024"))
    two = _order(reseller, "two@shop.test", product=make_product(name="Antivirus Plus"))
    backup = make_product(name="Backup")
    two.lines.create(product=backup, quantity=1, unit_price=backup.unit_price)
    client.force_login(reseller)
    html = client.get(reverse("orders:list")).content.decode()
    assert "Office Pro 2024" in html and "Antivirus Plus (+1)" in html
    assert one.pk in _ids(html)


@pytest.mark.django_db
def test_a_reseller_in_another_organisation_sees_its_own_results(client):
    """CC-11: the search runs in the organisation the request acts for."""
    first, second = make_org(name="A first"), make_org(name="B second")
    person = make_user(first, email="both@partner.test")
    mine = _order(person, "x@shop.test")
    Order.objects.filter(pk=mine.pk).update(reseller=second)
    person.memberships.create(organisation=second)
    client.force_login(person)
    assert _ids(client.get(reverse("orders:list"), {"q": "x@"}).content.decode()) == []
    client.post(reverse("organisation_switch"), {"organisation": second.pk})
    assert _ids(client.get(reverse("orders:list"), {"q": "x@"}).content.decode()) == [mine.pk]


@pytest.mark.django_db
def test_all2_odd_search_input_never_reaches_a_server_error(client, reseller):
    """ALL-2: whatever is typed in the search box (a NUL, a huge number, a date out of range, markup) the
    list and the export answer, keeping what was typed where it can be shown."""
    _order(reseller, "a@shop.test")
    client.force_login(reseller)
    odd = ("\x00", "a\x00b", "#99999999999999999999999", "9999-99-99", "31.02.2026", "<b>x</b>", "%", "_")
    # Digits int() refuses: a superscript ("²" is a digit to str.isdigit) and more than 4,300 of them.
    for q in (*odd, "²", "#²", "9" * 5000, "9999-12-31", "31.12.9999", "0001-01-01"):
        assert client.get(reverse("orders:list"), {"q": q}).status_code == 200, q
        response = client.get(reverse("orders:export"), {"q": q})
        assert response.status_code == 200, q
        b"".join(response.streaming_content)
