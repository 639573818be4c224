"""Issue #13: the reseller's reference (its PO number) in the API: written when ordering, read back on the
order, the order list and the invoice; each line with the price it kept; all of it in the OpenAPI document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.urls import reverse

from catalog.models import Product
from tests.factories import stock

ORDERS = "/api/v1/orders/"


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "end_customer_email": "api.customer@end.test",
        "lines": [{"sku": "W81-PRO", "quantity": 2}],
        **extra,
    }


@pytest.fixture
def priced(product: Product) -> Product:
    Product.objects.filter(pk=product.pk).update(unit_price=Decimal("129.00"))
    product.refresh_from_db()
    stock(product, 2)
    return product


@pytest.mark.django_db
def test_the_reference_is_written_on_create_and_read_everywhere(
    api: Any, priced: Product, django_capture_on_commit_callbacks: Any
) -> None:
    """Issue #13, ESD-6: stored stripped, shown on the order, in the list and on its invoice; each line says
    the price it kept."""
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(ORDERS, _body(reseller_reference="  PO-2026/17 "), format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["reseller_reference"] == "PO-2026/17"
    assert order["lines"][0]["unit_price"] == "129.00"
    Product.objects.filter(pk=priced.pk).update(unit_price=Decimal("1.00"))
    detail = api.get(f"{ORDERS}{order['id']}/").json()
    assert detail["reseller_reference"] == "PO-2026/17" and detail["lines"][0]["unit_price"] == "129.00"
    listed = api.get(ORDERS).json()["results"]
    assert listed[0]["reseller_reference"] == "PO-2026/17"
    invoices = api.get("/api/v1/invoices/").json()["results"]
    assert invoices[0]["reseller_reference"] == "PO-2026/17"
    assert invoices[0]["lines"][0]["unit_price"] == "129.00" and invoices[0]["net_total"] == "258.00"


@pytest.mark.django_db
def test_the_reference_is_optional(api: Any, priced: Product) -> None:
    created = api.post(ORDERS, _body(), format="json")
    assert created.status_code == 201 and created.json()["reseller_reference"] == ""


@pytest.mark.django_db
def test_all2_a_bad_reference_is_a_problem_naming_the_field(api: Any, priced: Product) -> None:
    """ALL-2: too long, or with a control character: a problem that names ``reseller_reference``, no order."""
    too_long = api.post(ORDERS, _body(reseller_reference="R" * 65), format="json")
    assert too_long.status_code == 400 and too_long["Content-Type"] == "application/problem+json"
    assert too_long.json()["errors"][0]["field"] == "reseller_reference"
    control = api.post(ORDERS, _body(reseller_reference="PO\x0712"), format="json")
    assert control.status_code == 400 and control.json()["errors"][0]["field"] == "reseller_reference"
    assert api.get(ORDERS).json()["results"] == []


@pytest.mark.django_db
def test_all1_the_reference_shows_only_to_its_organisation(api: Any, other_api: Any, priced: Product) -> None:
    """ALL-1: another reseller neither finds the order nor its reference."""
    order = api.post(ORDERS, _body(reseller_reference="SECRET-PO"), format="json").json()
    assert other_api.get(f"{ORDERS}{order['id']}/").status_code == 404
    assert "SECRET-PO" not in other_api.get(ORDERS).content.decode()


@pytest.mark.django_db
def test_the_schema_documents_the_reference_and_the_kept_price(client: Any) -> None:
    """The OpenAPI document: ``reseller_reference`` writable on create (optional, at most 64) and read on
    every order and invoice; ``unit_price`` on each order line."""
    schemas = yaml.safe_load(client.get(reverse("api:schema")).content)["components"]["schemas"]
    create = schemas["OrderCreateRequest"]
    assert create["properties"]["reseller_reference"]["maxLength"] == 64
    assert "reseller_reference" not in create.get("required", [])
    for name in ("OrderDetail", "OrderSummary", "Invoice"):
        assert "reseller_reference" in schemas[name]["properties"], name
        assert "reseller_reference" in schemas[name]["required"], name
    assert "unit_price" in schemas["OrderLineOut"]["properties"]
