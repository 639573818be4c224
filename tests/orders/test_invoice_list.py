"""Issue #13: the reseller's invoice list at /orders/invoices/: its own invoices only (ALL-1), newest first,
keyset pages, a constant number of queries, each with its amounts and its PDF (ESD-6)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from catalog.models import Product
from orders.models import Invoice
from orders.services import LineIn, order_fulfil, order_place
from tests.factories import org_of, stock

LIST = "/orders/invoices/"


def _invoiced(user: Any, product: Product, n: int, reference: str = "") -> list[Invoice]:
    stock(product, n)
    invoices = []
    for i in range(n):
        order = order_place(
            reseller=org_of(user),
            placed_by=user,
            end_customer_email=f"c{i}@end.test",
            reseller_reference=f"{reference}{i}" if reference else "",
            lines=[LineIn(product_id=product.pk, quantity=1)],
        )
        order_fulfil(order_id=order.pk)
        invoices.append(Invoice.objects.get(order=order))
    return invoices


@pytest.fixture
def priced(product: Product) -> Product:
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal("100.00"))
    product.refresh_from_db()
    return product


@pytest.mark.django_db
def test_esd6_the_list_shows_each_invoice_with_its_amounts_and_pdf(
    client: Any, reseller: Any, priced: Any
) -> None:
    """ESD-6: number, date, order, reference, net/VAT/gross and the PDF's link; newest first."""
    first, second = _invoiced(reseller, priced, 2, reference="PO-")
    assert reverse("orders:invoices") == LIST
    client.force_login(reseller)
    page = client.get(LIST).content.decode()
    assert page.index(second.number) < page.index(first.number)
    assert f'href="/orders/{first.order_id}/"' in page and "PO-0" in page
    assert "100.00 EUR" in page and "23.00 EUR" in page and "123.00 EUR" in page
    assert f'href="{reverse("orders:invoice_pdf", args=[first.order_id])}"' in page
    pdf = client.get(reverse("orders:invoice_pdf", args=[first.order_id]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'data-label="Gross"' in page  # stacks into cards on a phone


@pytest.mark.django_db
def test_all1_another_organisations_invoices_are_neither_listed_nor_downloadable(
    client: Any, reseller: Any, other_reseller: Any, priced: Any
) -> None:
    """ALL-1: the list holds only the organisation's invoices; another's PDF answers 404 like a missing one."""
    (mine,) = _invoiced(reseller, priced, 1)
    (theirs,) = _invoiced(other_reseller, priced, 1)
    client.force_login(reseller)
    page = client.get(LIST).content.decode()
    assert mine.number in page and theirs.number not in page
    assert client.get(reverse("orders:invoice_pdf", args=[theirs.order_id])).status_code == 404
    assert client.get(reverse("orders:invoice_pdf", args=[999_999])).status_code == 404


@pytest.mark.django_db
def test_all1_only_resellers_see_the_list(client: Any, end_customer: Any) -> None:
    client.force_login(end_customer)
    assert client.get(LIST).status_code == 403
    client.logout()
    assert client.get(LIST).status_code == 302


@pytest.mark.django_db
def test_the_list_pages_by_position_and_costs_the_same_queries_for_3_or_30(
    client: Any, reseller: Any, priced: Any, django_assert_max_num_queries: Any
) -> None:
    """Keyset pages of 25 (core.paging): "Older" shows the rest, "Newer" comes back; the page costs the same
    queries whatever the number of invoices."""
    invoices = _invoiced(reseller, priced, 3)
    client.force_login(reseller)
    client.get(LIST)
    with django_assert_max_num_queries(6) as few:
        assert client.get(LIST).status_code == 200
    invoices += _invoiced(reseller, priced, 27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get(LIST).content.decode()
    numbers = list(dict.fromkeys(re.findall(r"ESD/\d{4}/\d{6}", first)))
    assert numbers == [i.number for i in reversed(invoices)][:25]
    older = re.search(r'href="(\?before=[^"]+)" rel="next"', first).group(1)
    second = client.get(LIST + older.replace("&amp;", "&")).content.decode()
    assert (
        list(dict.fromkeys(re.findall(r"ESD/\d{4}/\d{6}", second)))
        == [i.number for i in reversed(invoices)][25:]
    )
    assert 'rel="prev"' in second and 'rel="next"' not in second


@pytest.mark.django_db
def test_an_empty_list_says_when_invoices_come(client: Any, reseller: Any) -> None:
    client.force_login(reseller)
    page = client.get(LIST).content.decode()
    assert "No invoices yet." in page and "when it is fulfilled" in page
    # A cursor that does not read shows the first page, never an error (ALL-2).
    garbage = client.get(LIST + "?before=garbage.1x")
    assert garbage.status_code == 200 and "No invoices here." in garbage.content.decode()
