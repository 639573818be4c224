"""Issue #13: the new-order form as a reseller expects it: prices, availability (never the pool's size),
one line to start, lines added and removed without the script too, and a confirmation step before an
order that can never be returned is placed (ESD-10), at the prices it showed (ESD-2, ESD-5, ALL-1, ALL-2)."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Product
from orders.models import Order
from tests.factories import make_product, stock

NEW = "/orders/new/"


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "end_customer_email": "anna@end.test",
        "end_customer_email_confirmation": "anna@end.test",
        "reseller_reference": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": "",
        "lines-0-quantity": "1",
    }
    data.update(overrides)
    return data


def _hidden(page: str) -> dict[str, str]:
    """The hidden fields of the confirmation step, as the browser would send them back."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in fields if name != "csrfmiddlewaretoken"}


def _option(page: str, product: Product) -> str:
    found = re.search(rf'<option value="{product.pk}"[^>]*>([^<]*)</option>', page)
    assert found, product
    return html.unescape(found.group(1))


@pytest.fixture
def priced(product: Product, product2: Product) -> tuple[Product, Product]:
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal("129.00"))
    Product.objects.filter(pk=product2.pk).update(unit_price=Decimal("33.33"))
    product.refresh_from_db()
    product2.refresh_from_db()
    stock(product, 7)
    return product, product2


@pytest.mark.django_db
def test_esd5_the_form_starts_with_one_line_and_shows_prices_and_stock_never_the_pool_size(
    client: Any, reseller: Any, priced: tuple[Product, Product]
) -> None:
    """ESD-5, issue #13: one empty line; each product with its net price and "in stock" or "will wait for
    stock", never how many keys there are (7 here), neither in the options nor in the script's data."""
    product, product2 = priced
    client.force_login(reseller)
    page = client.get(NEW).content.decode()
    assert 'name="lines-TOTAL_FORMS" value="1"' in page
    assert 'name="lines-1-product"' not in page
    assert _option(page, product) == "Windows 8.1 Pro (W81-PRO) · 129.00 EUR net · in stock"
    assert (
        _option(page, product2)
        == "Office Home and Business 2013 (O2013-HB) · 33.33 EUR net · will wait for stock"
    )
    prices = re.search(r'<script id="order-prices" type="application/json">([^<]*)</script>', page)
    assert prices and json.loads(prices.group(1)) == {str(product.pk): "129.00", str(product2.pk): "33.33"}
    assert "keys_available" not in page and 'data-vat-percent="23"' in page
    assert (
        "data-remove-line" in page and "Remove this line" in page
    )  # the script's button, the box without it


@pytest.mark.django_db
def test_esd5_availability_is_for_the_quantity_wanted(client: Any, reseller: Any, priced: Any) -> None:
    """ESD-5: 7 keys cover 7 units and not 8; the review says which lines will wait for stock."""
    product, _ = priced
    client.force_login(reseller)
    seven = client.post(
        NEW, _form(**{"lines-0-product": product.pk, "lines-0-quantity": "7"})
    ).content.decode()
    assert "in stock" in seven and "will wait for stock" not in seven.split('id="confirm-lines"')[1]
    eight = client.post(
        NEW, _form(**{"lines-0-product": product.pk, "lines-0-quantity": "8"})
    ).content.decode()
    assert 'id="confirm-waits"' in eight and "will wait for stock" in eight
    back = client.post(NEW, {**_hidden(eight), "change": "1"}).content.decode()
    assert _option(back, product).endswith("will wait for stock")


@pytest.mark.django_db
def test_the_form_costs_the_same_queries_for_2_or_12_products(
    client: Any, reseller: Any, priced: Any
) -> None:
    """Issue #13: prices and availability come with the products in one query, not one per product or
    line."""
    client.force_login(reseller)
    client.get(NEW)
    with CaptureQueriesContext(connection) as few:
        client.get(NEW)
    for _ in range(10):
        stock(make_product(unit_price=Decimal("10.00")), 1)
    lines = {f"lines-{i}-product": "" for i in range(5)} | {f"lines-{i}-quantity": "1" for i in range(5)}
    with CaptureQueriesContext(connection) as many:
        client.get(NEW)
    with CaptureQueriesContext(connection) as posted:
        client.post(NEW, _form(**lines, **{"lines-TOTAL_FORMS": "5"}))
    assert len(many) == len(few)
    assert len(posted) <= len(few) + 1


@pytest.mark.django_db
def test_esd10_review_shows_everything_and_places_nothing_until_confirmed(
    client: Any, reseller: Any, priced: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """ESD-10, ESD-2: "Review order" shows products, quantities, unit prices, line totals, net/VAT/gross, the
    address and the reference, and places nothing; "Place order" there places it at those prices."""
    product, product2 = priced
    client.force_login(reseller)
    data = _form(
        **{
            "reseller_reference": "  PO-77/2026  ",
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": product.pk,
            "lines-0-quantity": "2",
            "lines-1-product": product2.pk,
            "lines-1-quantity": "3",
        }
    )
    review = client.post(NEW, data)
    page = review.content.decode()
    assert review.status_code == 200 and not Order.objects.exists()
    assert 'id="confirm-email">anna@end.test<' in page and 'id="confirm-reference">PO-77/2026<' in page
    assert "129.00 EUR" in page and "258.00 EUR" in page  # 2 × 129.00
    assert "33.33 EUR" in page and "99.99 EUR" in page  # 3 × 33.33
    net, vat, gross = Decimal("357.99"), Decimal("82.34"), Decimal("440.33")  # VAT 23 %, half up
    totals = page.split('id="confirm-totals"')[1]
    assert f"{net} EUR" in totals and f"{vat} EUR" in totals and f"{gross} EUR" in totals
    assert "Place order" in page and "Change" in page and "cannot be returned" in page
    hidden = _hidden(page)
    assert hidden["confirmed"] == "1" and hidden["lines-0-unit_price"] == "129.00"

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post(NEW, {**hidden, "place": "1"})
    order = Order.objects.get()
    assert placed.status_code == 302 and placed["Location"] == reverse("orders:detail", args=[order.pk])
    assert order.reseller_reference == "PO-77/2026"
    assert {line.product_id: line.unit_price for line in order.lines.all()} == {
        product.pk: Decimal("129.00"),
        product2.pk: Decimal("33.33"),
    }


@pytest.mark.django_db
def test_esd10_nothing_is_placed_without_the_confirmed_flag(client: Any, reseller: Any, priced: Any) -> None:
    """ESD-10: "place" without the confirmation's hidden flag, or without the prices it showed, shows the
    review instead of placing."""
    product, _ = priced
    client.force_login(reseller)
    line = {"lines-0-product": product.pk, "lines-0-quantity": "1"}
    no_flag = client.post(NEW, _form(**line, **{"lines-0-unit_price": "129.00", "place": "1"}))
    no_price = client.post(NEW, _form(**line, **{"confirmed": "1", "place": "1"}))
    assert no_flag.status_code == no_price.status_code == 200
    assert 'id="order-confirm"' in no_flag.content.decode()
    assert "confirm it again" in no_price.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_esd10_a_price_changed_since_the_review_is_shown_again_not_placed(
    client: Any, reseller: Any, priced: Any
) -> None:
    """ESD-10, issue #13: the price list changed between review and "Place order": the review comes back
    with the new price and a message; nothing is placed at a price the reseller did not see."""
    product, _ = priced
    client.force_login(reseller)
    review = client.post(NEW, _form(**{"lines-0-product": product.pk, "lines-0-quantity": "2"}))
    hidden = _hidden(review.content.decode())
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal("149.00"))
    again = client.post(NEW, {**hidden, "place": "1"})
    page = again.content.decode()
    assert again.status_code == 200 and not Order.objects.exists()
    assert 'id="review-notice"' in page and "has changed since you reviewed" in page
    assert "149.00 EUR" in page and "298.00 EUR" in page
    placed = client.post(NEW, {**_hidden(page), "place": "1"})
    assert placed.status_code == 302
    assert Order.objects.get().lines.get().unit_price == Decimal("149.00")


@pytest.mark.django_db
def test_all2_change_brings_back_the_form_with_everything_typed(
    client: Any, reseller: Any, priced: Any
) -> None:
    """ALL-2: "Change" on the confirmation shows the form filled in as typed, with no error."""
    product, product2 = priced
    client.force_login(reseller)
    data = _form(
        **{
            "end_customer_email": "Anna@End.test",
            "end_customer_email_confirmation": "anna@end.test",
            "reseller_reference": "PO-1",
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": product.pk,
            "lines-0-quantity": "4",
            "lines-1-product": product2.pk,
            "lines-1-quantity": "2",
        }
    )
    hidden = _hidden(client.post(NEW, data).content.decode())
    back = client.post(NEW, {**hidden, "change": "1"})
    page = back.content.decode()
    assert back.status_code == 200 and 'id="order-form"' in page
    assert 'value="Anna@End.test"' in page and 'value="anna@end.test"' in page and 'value="PO-1"' in page
    assert (
        f'<option value="{product.pk}" selected>' in page
        and f'<option value="{product2.pk}" selected>' in page
    )
    assert 'name="lines-0-quantity" value="4"' in page and 'name="lines-1-quantity" value="2"' in page
    assert "errorlist" not in page and "error-summary" not in page
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_all2_lines_are_added_and_removed_without_the_script(client: Any, reseller: Any, priced: Any) -> None:
    """ALL-2: without JavaScript, "Add another product" adds a line keeping what was typed (and shows no
    error yet), and a line whose "Remove this line" box is ticked is not ordered."""
    product, product2 = priced
    client.force_login(reseller)
    typed = _form(**{"reseller_reference": "PO-9", "lines-0-product": product.pk, "lines-0-quantity": "3"})
    added = client.post(NEW, {**typed, "add_line": "1"}).content.decode()
    assert 'name="lines-TOTAL_FORMS" value="2"' in added and 'name="lines-1-product"' in added
    assert f'<option value="{product.pk}" selected>' in added and 'value="PO-9"' in added
    assert "errorlist" not in added

    both = _form(
        **{
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": product.pk,
            "lines-0-quantity": "3",
            "lines-0-DELETE": "on",
            "lines-1-product": product2.pk,
            "lines-1-quantity": "1",
        }
    )
    review = client.post(NEW, both).content.decode()
    lines = review.split('id="confirm-lines"')[1].split("</table>")[0]
    assert "O2013-HB" in lines and "W81-PRO" not in lines
    assert _hidden(review)["lines-TOTAL_FORMS"] == "1"
    # Removing every line is an error at the top and above the lines, not an empty order.
    none = client.post(NEW, {**both, "lines-1-DELETE": "on"}).content.decode()
    assert "Add at least one product." in none and "error-summary" in none


@pytest.mark.django_db
def test_all2_errors_sit_next_to_fields_with_a_summary_and_nothing_typed_is_lost(
    client: Any, reseller: Any, priced: Any
) -> None:
    """ALL-2: a reference too long and a second address that differs: each error next to its field, all of
    them in the summary at the top, every value typed still there."""
    product, _ = priced
    client.force_login(reseller)
    response = client.post(
        NEW,
        _form(
            **{
                "end_customer_email_confirmation": "other@end.test",
                "reseller_reference": "R" * 65,
                "lines-0-product": product.pk,
                "lines-0-quantity": "5",
            }
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Order.objects.exists()
    assert 'class="error-summary"' in page
    summary = page.split('class="error-summary"')[1].split("</div>")[0]
    assert (
        'href="#id_reseller_reference"' in summary and 'href="#id_end_customer_email_confirmation"' in summary
    )
    assert (
        'id="id_reseller_reference_error"' in page and 'id="id_end_customer_email_confirmation_error"' in page
    )
    assert f'value="{"R" * 65}"' in page and 'value="other@end.test"' in page and 'value="5"' in page
    assert f'<option value="{product.pk}" selected>' in page


@pytest.mark.django_db
def test_esd7_the_review_refuses_what_placing_would_refuse(client: Any, reseller: Any, priced: Any) -> None:
    """ESD-7: a reseller's own address is refused at the review already, next to the field."""
    product, _ = priced
    client.force_login(reseller)
    own = reseller.email
    page = client.post(
        NEW,
        _form(
            **{
                "end_customer_email": own,
                "end_customer_email_confirmation": own,
                "lines-0-product": product.pk,
            }
        ),
    ).content.decode()
    assert 'id="order-confirm"' not in page and "error-summary" in page
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_esd2_the_same_product_twice_is_one_line_on_the_review(
    client: Any, reseller: Any, priced: Any
) -> None:
    """ESD-2: two lines of one product are reviewed (and placed) as one line with the units added up."""
    product, _ = priced
    client.force_login(reseller)
    data = _form(
        **{
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": product.pk,
            "lines-0-quantity": "2",
            "lines-1-product": product.pk,
            "lines-1-quantity": "3",
        }
    )
    hidden = _hidden(client.post(NEW, data).content.decode())
    assert hidden["lines-TOTAL_FORMS"] == "1" and hidden["lines-0-quantity"] == "5"


@pytest.mark.django_db
def test_all1_only_resellers_review_or_place(client: Any, end_customer: Any, priced: Any) -> None:
    """ALL-1: an end customer can neither open the form nor post a confirmation."""
    product, _ = priced
    client.force_login(end_customer)
    assert client.get(NEW).status_code == 403
    data = _form(
        **{"lines-0-product": product.pk, "lines-0-unit_price": "129.00", "confirmed": "1", "place": "1"}
    )
    assert client.post(NEW, data).status_code == 403
    assert not Order.objects.exists()
