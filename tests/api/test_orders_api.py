"""The reseller API: every endpoint for two resellers, problems, idempotency, throttling (ESD-2/7/10/12/14, ALL-1/2)."""

import json
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import api_token_revoke
from locker.models import ProductKey
from locker.services import key_reveal
from orders.models import Invoice, Order
from tests.conftest import run_concurrently
from tests.factories import make_product, org_of, stock

ORDERS = "/api/v1/orders/"


def _order_body(email="api.customer@end.test", sku="W81-PRO", quantity=1, **extra):
    return {"end_customer_email": email, "lines": [{"sku": sku, "quantity": quantity}], **extra}


def _post(client, url, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body if body is not None else {}, format="json", **headers)


@pytest.fixture
def stocked(product, product2):
    stock(product, 10)
    stock(product2, 5)
    return product, product2


@pytest.mark.django_db
def test_all1_without_a_valid_token_nothing_answers(client, reseller, token):
    for url in (ORDERS, "/api/v1/products/", "/api/v1/invoices/"):
        response = client.get(url)
        assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer rp_not-a-real-token")
    assert bad.get(ORDERS).status_code == 401
    api_token_revoke(organisation=org_of(reseller), token_id=ApiToken.objects.get().pk)
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert revoked.get(ORDERS).json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_esd1_products_lists_only_esd_orderable(api, product):
    make_product("WS2012-STD", name="Windows Server 2012", esd_eligible=False, is_server=True)
    response = api.get("/api/v1/products/", {"q": "windows"})
    assert [p["sku"] for p in response.json()["results"]] == ["W81-PRO"]
    assert api.get("/api/v1/products/", {"vendor": "nobody"}).json()["results"] == []


@pytest.mark.django_db
def test_esd2_create_order_and_follow_it(api, reseller, stocked, django_capture_on_commit_callbacks):
    """ESD-2: one address, several lines; the detail carries the delivery tracker and invoice, never a key."""
    body = {
        "end_customer_email": "Shop.Customer@End.test",
        "lines": [{"sku": "W81-PRO", "quantity": 2}, {"sku": "O2013-HB", "quantity": 1}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, ORDERS, body)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["end_customer_email"] == "shop.customer@end.test"
    detail = api.get(f"{ORDERS}{created['id']}/").json()
    assert detail["status"] == "fulfilled"
    assert detail["delivery"]["welcome_mail"]["status"] == "sent"
    assert {(line["sku"], line["quantity"], line["delivered"]) for line in detail["lines"]} == {
        ("W81-PRO", 2, 2),
        ("O2013-HB", 1, 1),
    }
    assert detail["invoice"]["number"].startswith("ESD/")
    assert Order.objects.get().placed_by == reseller


@pytest.mark.django_db
def test_all2_validation_problems_name_the_fields(api, stocked):
    response = _post(
        api,
        ORDERS,
        {"end_customer_email": "nope", "lines": [{"sku": "W81-PRO", "quantity": 0}, {"quantity": 1}]},
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error" and problem["status"] == 400 and problem["type"]
    assert {e["field"] for e in problem["errors"]} == {
        "end_customer_email",
        "lines[0].quantity",
        "lines[1].sku",
    }
    response = _post(api, ORDERS, _order_body(sku="NO-SUCH"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "lines[0].sku"
    response = _post(api, ORDERS, _order_body(email="buyer@reseller-one.test"))
    assert response.status_code == 422 and response.json()["code"] == "member_address"
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_all2_nothing_a_client_sends_gives_a_500(api, stocked):
    sends = [
        lambda: api.post(ORDERS, "{not json", content_type="application/json"),
        lambda: api.post(ORDERS, "a=b", content_type="application/x-www-form-urlencoded"),
        lambda: api.post(ORDERS, json.dumps([1, 2]), content_type="application/json"),
        lambda: api.post(
            ORDERS, json.dumps({"end_customer_email": ["x"], "lines": "all"}), content_type="application/json"
        ),
        lambda: api.post(ORDERS, json.dumps(_order_body(quantity=10**12)), content_type="application/json"),
        lambda: api.post(
            ORDERS, json.dumps(_order_body(email="a" * 300 + "@x.test")), content_type="application/json"
        ),
        lambda: api.get(ORDERS, {"status": "lost", "created_after": "yesterday", "page_size": "-1"}),
        lambda: api.get(ORDERS, {"cursor": "garbage"}),
        lambda: api.get(f"{ORDERS}999999/"),
        lambda: api.post(f"{ORDERS}999999/cancel/"),
        lambda: api.post(
            ORDERS, json.dumps(_order_body()), content_type="application/json", HTTP_IDEMPOTENCY_KEY="x" * 300
        ),
    ]
    for send in sends:
        response = send()
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_all1_other_organisations_ids_answer_404_and_lists_never_mix(
    api, other_api, stocked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mine = _post(api, ORDERS, _order_body(email="mine@end.test")).json()
        theirs = _post(other_api, ORDERS, _order_body(email="theirs@end.test")).json()
    invoice_theirs = Invoice.objects.get(order_id=theirs["id"]).pk
    for url in (
        f"{ORDERS}{theirs['id']}/",
        f"/api/v1/invoices/{invoice_theirs}/",
        f"/api/v1/invoices/{invoice_theirs}/pdf/",
    ):
        assert api.get(url).status_code == 404
    for action in ("cancel", "correct-email", "resend-welcome-mail"):
        assert _post(api, f"{ORDERS}{theirs['id']}/{action}/", {"new_email": "x@y.test"}).status_code == 404
    assert [o["id"] for o in api.get(ORDERS).json()["results"]] == [mine["id"]]
    assert [o["id"] for o in other_api.get(ORDERS).json()["results"]] == [theirs["id"]]
    assert [i["order"] for i in api.get("/api/v1/invoices/").json()["results"]] == [mine["id"]]


@pytest.mark.django_db
def test_orders_list_filters_and_pages(api, stocked, django_capture_on_commit_callbacks):
    for i in range(5):
        _post(api, ORDERS, _order_body(email=f"c{i}@end.test"))
    everyone = api.get(ORDERS, {"page_size": 2}).json()
    assert len(everyone["results"]) == 2 and everyone["next"]
    second = api.get(everyone["next"]).json()
    assert len(second["results"]) == 2
    assert not {o["id"] for o in everyone["results"]} & {o["id"] for o in second["results"]}
    assert [o["end_customer_email"] for o in api.get(ORDERS, {"email": "C3@end.test"}).json()["results"]] == [
        "c3@end.test"
    ]
    assert len(api.get(ORDERS, {"status": "placed"}).json()["results"]) == 5
    assert api.get(ORDERS, {"status": "fulfilled"}).json()["results"] == []
    assert api.get(ORDERS, {"created_after": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert len(api.get(ORDERS, {"created_before": "2999-01-01T00:00:00Z"}).json()["results"]) == 5


@pytest.mark.django_db
def test_esd10_cancel_only_while_awaiting_stock(api, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = _post(api, ORDERS, _order_body()).json()
    assert api.get(f"{ORDERS}{waiting['id']}/").json()["status"] == "awaiting_stock"
    response = _post(api, f"{ORDERS}{waiting['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    stock(product, 1)
    with django_capture_on_commit_callbacks(execute=True):
        done = _post(api, ORDERS, _order_body(email="other@end.test")).json()
    response = _post(api, f"{ORDERS}{done['id']}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "not_cancellable"


@pytest.mark.django_db
def test_esd14_correct_email_through_the_api(api, stocked, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = _post(api, ORDERS, _order_body(email="typo@end.test")).json()
    mail.outbox.clear()
    response = _post(api, f"{ORDERS}{order['id']}/correct-email/", {"new_email": "right@end.test"})
    assert response.status_code == 200 and response.json()["end_customer_email"] == "right@end.test"
    assert mail.outbox == []
    key = ProductKey.objects.get(owner__email="right@end.test")
    key_reveal(key_id=key.pk, user=key.owner, ip=None, user_agent="")
    response = _post(api, f"{ORDERS}{order['id']}/correct-email/", {"new_email": "again@end.test"})
    assert response.status_code == 409 and response.json()["code"] == "correction_refused"
    response = _post(api, f"{ORDERS}{order['id']}/correct-email/", {"new_email": "not-an-email"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "new_email"


@pytest.mark.django_db
def test_esd12_resend_through_the_api_is_throttled(
    api, stocked, settings, django_capture_on_commit_callbacks
):
    settings.WELCOME_MAIL_RESENDS_PER_HOUR = 1
    with django_capture_on_commit_callbacks(execute=True):
        order = _post(api, ORDERS, _order_body()).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(api, f"{ORDERS}{order['id']}/resend-welcome-mail/").status_code == 200
    response = _post(api, f"{ORDERS}{order['id']}/resend-welcome-mail/")
    assert response.status_code == 429 and response.json()["code"] == "resend_throttled"


@pytest.mark.django_db
def test_esd6_invoices_list_detail_and_pdf(api, stocked, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = _post(api, ORDERS, _order_body(quantity=3)).json()
    detail = api.get(f"{ORDERS}{order['id']}/").json()
    invoice_id = detail["invoice"]["id"]
    invoice = api.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert invoice["order"] == order["id"] and invoice["lines"][0]["quantity"] == 3
    pdf = api.get(f"/api/v1/invoices/{invoice_id}/pdf/", HTTP_ACCEPT="application/pdf")
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF")
    )
    assert detail["invoice"]["pdf_url"].endswith(f"/api/v1/invoices/{invoice_id}/pdf/")


# --- idempotency -------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_idempotency_same_key_same_body_replays_the_first_response(
    api, other_api, stocked, django_capture_on_commit_callbacks
):
    key = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(api, ORDERS, _order_body(), key=key)
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(api, ORDERS, _order_body(), key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1 and ProductKey.objects.filter(status="allocated").count() == 1
    other_body = _post(api, ORDERS, _order_body(quantity=2), key=key)
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    # Keys belong to one organisation: the other reseller's same key is a new request.
    assert _post(other_api, ORDERS, _order_body(), key=key).status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_idempotency_failed_request_can_be_retried_with_the_same_key(api, stocked):
    key = "retry-me"
    assert _post(api, ORDERS, _order_body(sku="NOPE"), key=key).status_code == 422
    assert _post(api, ORDERS, _order_body(), key=key).status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_idempotency_fifty_concurrent_identical_requests_make_one_order(reseller, token):
    """50 identical POSTs at once with one Idempotency-Key: exactly one order, keys allocated once."""
    product = make_product("W81-PRO")
    stock(product, 60)

    def send() -> tuple[int, dict]:
        client = APIClient()  # one client per thread: the test client is not thread-safe
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = _post(client, ORDERS, _order_body(quantity=2), key="one-order-please")
        return response.status_code, response.json()

    results = run_concurrently([send] * 50)
    assert {code for code, _body in results} == {201}
    assert len({body["id"] for _code, body in results}) == 1
    assert Order.objects.count() == 1
    assert ProductKey.objects.exclude(status="available").count() == 2


# --- throttling --------------------------------------------------------------------------------------------
@pytest.mark.ratelimits
@pytest.mark.django_db
def test_throttling_per_token_answers_429_with_retry_after(api, other_api, settings):
    # A fresh token has no count yet (each worker keeps its own keys); never clear the cache, which other
    # workers share.
    settings.API_THROTTLE_RATE = "3/min"
    codes = [api.get(ORDERS).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get(ORDERS)
    assert int(limited["Retry-After"]) > 0 and limited.json()["code"] == "throttled"
    assert other_api.get(ORDERS).status_code == 200  # per token, not global


# --- ESD-7 -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_esd7_no_api_response_or_log_line_holds_a_key(
    api, stocked, caplog, django_capture_on_commit_callbacks
):
    """ESD-7: seed known keys, fulfil, reveal, then read everything the reseller can reach through the API."""
    import logging

    caplog.set_level(logging.DEBUG)
    known = stock(make_product("O365-BUS"), 3)
    with django_capture_on_commit_callbacks(execute=True):
        order = _post(
            api,
            ORDERS,
            {
                "end_customer_email": "seen@end.test",
                "lines": [{"sku": "O365-BUS", "quantity": 3}, {"sku": "W81-PRO", "quantity": 1}],
            },
        ).json()
    keys = list(ProductKey.objects.filter(owner__email="seen@end.test"))
    plain = [key_reveal(key_id=k.pk, user=k.owner, ip=None, user_agent="").plaintext for k in keys]
    texts = []
    for url in (ORDERS, f"{ORDERS}{order['id']}/", "/api/v1/products/", "/api/v1/invoices/"):
        texts.append(api.get(url).content.decode())
    invoice_id = Invoice.objects.get().pk
    texts.append(
        api.get(f"/api/v1/invoices/{invoice_id}/pdf/", HTTP_ACCEPT="application/pdf").content.decode(
            "latin-1"
        )
    )
    texts.append(api.get(reverse("api:schema")).content.decode())
    texts.append(caplog.text)
    texts += [m.body for m in mail.outbox]
    for secret in known + plain:
        for text in texts:
            assert secret not in text and secret.replace("-", "") not in text


# --- what can be done with an order -----------------------------------------------------------------------
@pytest.mark.django_db
def test_esd6_esd10_esd12_esd14_the_schema_documents_an_orders_actions(client):
    """The OpenAPI document describes ``actions`` on every order it returns in full (ESD-6, 10, 12, 14)."""
    import yaml

    schemas = yaml.safe_load(client.get(reverse("api:schema")).content)["components"]["schemas"]
    detail = schemas["OrderDetail"]
    assert "actions" in detail["required"] and "OrderActions" in str(detail["properties"]["actions"])
    actions = schemas["OrderActions"]["properties"]
    assert set(actions) == {"resend_welcome_mail", "correct_email", "cancel", "download_invoice"}
    action = schemas["Action"]
    assert set(action["properties"]) == {"allowed", "code", "reason"}
    assert action["properties"]["code"]["nullable"] and action["properties"]["reason"]["nullable"]


@pytest.mark.django_db
def test_esd10_an_orders_actions_follow_it_through_the_api(api, product, django_capture_on_commit_callbacks):
    """ESD-10: an order waiting for stock offers cancel; once cancelled, the answer offers nothing of it."""
    with django_capture_on_commit_callbacks(execute=True):
        placed = _post(api, ORDERS, _order_body()).json()
    assert placed["actions"]["cancel"]["code"] == "not_cancellable"  # answered before fulfilment ran
    waiting = api.get(f"{ORDERS}{placed['id']}/").json()
    assert waiting["status"] == "awaiting_stock"
    assert waiting["actions"]["cancel"] == {"allowed": True, "code": None, "reason": None}
    assert waiting["actions"]["resend_welcome_mail"]["code"] == "not_fulfilled"
    cancelled = _post(api, f"{ORDERS}{waiting['id']}/cancel/").json()
    assert cancelled["actions"]["cancel"]["allowed"] is False
    assert cancelled["actions"]["cancel"]["code"] == "not_cancellable"
    assert cancelled["actions"]["download_invoice"]["code"] == "not_invoiced"
