"""ALL-2, issue #11 item 1: inputs that gave a server error answer a clear 4xx, and the API's own 500s are
problem+json without the exception's text."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from locker.models import KeyImport
from locker.services import keys_import_numbered, normalise_key, parse_key_file
from tests.factories import make_product, random_key, stock

ORDERS = "/api/v1/orders/"
INVOICES = "/api/v1/invoices/"
PROBLEM = "application/problem+json"
FIELD_LIMIT = 131_072  # csv.field_size_limit()'s default


def _cursor(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


def _assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:reseller-portal:problem:")
    if code is not None:
        assert body["code"] == code, body
    return body


# --- cursors ------------------------------------------------------------------------------------------
MALFORMED_CURSORS = [
    "cD0n",  # p='  (the reported one)
    _cursor("p=yesterday"),
    _cursor("p=2024-13-45T99:00:00"),
    _cursor("p=\x00"),
    _cursor("p=" + "9" * 40),
    _cursor("o=-1"),
    _cursor("r=x"),
    "garbage",
    "é",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ORDERS, INVOICES])
@pytest.mark.parametrize("cursor", MALFORMED_CURSORS)
def test_all2_malformed_cursor_is_a_400_problem(api, url, cursor):
    """ALL-2: a cursor the API did not hand out (here ``p='``) answers 400 invalid_cursor, not a 500."""
    _assert_problem(api.get(url, {"cursor": cursor}), 400, "invalid_cursor")


@pytest.mark.django_db
def test_all2_malformed_product_cursor_is_a_400_problem(api, product):
    """ALL-2: the products list (keyed by SKU) refuses a NUL in its cursor position the same way."""
    _assert_problem(api.get("/api/v1/products/", {"cursor": _cursor("p=\x00")}), 400, "invalid_cursor")


@pytest.mark.django_db
def test_all2_cursors_handed_out_still_page(api, reseller, product):
    """ALL-2: the stricter reading of cursors keeps the ones the API writes working."""
    stock(product, 3)
    for i in range(3):
        created = api.post(
            ORDERS,
            {"end_customer_email": f"c{i}@end.test", "lines": [{"sku": product.sku, "quantity": 1}]},
            format="json",
        )
        assert created.status_code == 201, created.content
    first = api.get(ORDERS, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["previous"]
    back = api.get(second["previous"]).json()
    assert [o["id"] for o in back["results"]] == [o["id"] for o in first["results"]]
    products = api.get("/api/v1/products/", {"page_size": 1}).json()
    assert api.get(products["next"] or "/api/v1/products/").status_code == 200


# --- deeply nested JSON -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 5000 + "1" + "}" * 5000,
        '{"end_customer_email": "x@end.test", "lines": ' + "[" * 5000 + "]" * 5000 + "}",
        "[" * 200 + "]" * 200,  # parses, but deeper than any request of this API
    ],
    ids=["lists", "objects", "in-a-field", "200-deep"],
)
def test_all2_deeply_nested_json_is_a_400_problem(api, body):
    """ALL-2: JSON nested 5,000 deep is refused as a parse error, never a RecursionError."""
    for key in (None, "nested-1"):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = api.post(ORDERS, body, content_type="application/json", **headers)
        _assert_problem(response, 400, "parse_error")


@pytest.mark.django_db
def test_all2_ordinary_nesting_still_parses(api):
    """ALL-2: the depth limit leaves room for every body this API takes (it answers a validation error)."""
    body = {"end_customer_email": "x@end.test", "lines": [{"sku": {"a": [[[1]]]}, "quantity": 1}]}
    _assert_problem(api.post(ORDERS, body, format="json"), 400, "validation_error")


# --- key files --------------------------------------------------------------------------------------------
def test_all2_key_file_field_over_the_csv_limit_is_a_malformed_line():
    """ALL-2: a CSV field over 131,072 characters makes that line malformed (by number); nothing raises."""
    good = random_key()
    content = "\n".join(["serial,key", f"1,{good}", "2," + "A" * (FIELD_LIMIT + 1), f"3,{good}", '4,"x' * 3])
    numbered = parse_key_file(content, "keys.csv")
    assert [n for n, _raw in numbered] == [2, 3, 4, 5]
    assert numbered[0] == (2, good) and numbered[2] == (4, good)
    assert normalise_key(numbered[1][1]) is None  # reported as malformed by the import
    text = parse_key_file("A" * (FIELD_LIMIT + 5) + "\n" + good, "keys.txt")
    assert [n for n, _raw in text] == [1, 2] and normalise_key(text[0][1]) is None


@pytest.mark.django_db
def test_all2_key_file_over_limit_line_is_reported_malformed_on_import():
    """ALL-2: importing such a file reports the long line as malformed by its line number."""
    product = make_product()
    content = "\n".join(["key", random_key(), "B" * (FIELD_LIMIT + 1), random_key()])
    report = keys_import_numbered(
        product=product, numbered=parse_key_file(content, "keys.csv"), imported_by=None
    )
    assert report.imported == 2 and report.malformed == [3] and report.duplicates == []


@pytest.mark.django_db
def test_all2_admin_key_upload_with_an_over_limit_field_shows_a_field_error(staff_client):
    """ALL-2: the admin upload of such a CSV shows an error next to the file field, not a 500."""
    product = make_product()
    content = "serial,key\n1," + random_key() + "\n2," + "C" * (FIELD_LIMIT + 1) + "\n"
    upload = SimpleUploadedFile("keys.csv", content.encode(), content_type="text/csv")
    response = staff_client.post(
        reverse("admin:locker_keyimport_add"), {"product": product.pk, "file": upload}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "file" in errors and "line 3" in str(errors["file"]).lower(), errors
    assert not KeyImport.objects.exists()


# --- the API's own 500s -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_all2_unexpected_api_error_is_a_generic_problem_without_the_exception_text(
    token, settings, monkeypatch, caplog
):
    """ALL-2: with DEBUG off an exception inside an API view answers 500 problem+json, code server_error,
    with no exception text; the exception is logged."""
    from api import views

    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False

    def broken(**kwargs):
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(views, "order_list", broken)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with caplog.at_level(logging.ERROR):
        response = client.get(ORDERS)
    body = _assert_problem(response, 500, "server_error")
    assert "secret-internal-detail" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    assert any(r.exc_info and "secret-internal-detail" in str(r.exc_info[1]) for r in caplog.records), (
        "the exception is logged"
    )
    assert set(body) >= {"type", "title", "status", "detail", "code"}


@pytest.mark.django_db
def test_all2_the_schema_documents_the_500_problem(client):
    """Clients generated from the OpenAPI document learn that a 500 is problem+json too."""
    import yaml

    schema = yaml.safe_load(client.get(reverse("api:schema")).content)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert "application/problem+json" in answers["500"]["content"], (method, path)


@pytest.mark.django_db
def test_all2_unexpected_api_error_inside_an_idempotent_post_leaves_no_record(
    token, settings, monkeypatch, product
):
    """ALL-2: a 500 inside an idempotent POST is problem+json too, and the key can be retried."""
    from api import views
    from api.models import IdempotencyRecord

    settings.DEBUG = False
    stock(product, 1)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "order_place", broken)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"end_customer_email": "x@end.test", "lines": [{"sku": product.sku, "quantity": 1}]}
    response = client.post(
        ORDERS, json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    _assert_problem(response, 500, "server_error")
    assert not IdempotencyRecord.objects.exists()
