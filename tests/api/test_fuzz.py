"""ALL-2, issue #11 item 1: property tests (hypothesis) of what parses client input — the API's JSON parser,
its cursors, the order-create body through the real view and token, and the key-file reader. Nothing a
client sends gives a 500 or an exception other than the documented ones.

Bounded for ``make test``: a fixed number of examples per property, derandomized (the same examples on every
run, so CI does not flake), no example database, no deadline. The whole file runs in seconds.

DB-touching properties get their fixtures (reseller, token, stocked product) once per test, outside
``@given``; each example runs inside its own savepoint that is rolled back, so examples cannot see each
other's orders and a failed statement cannot poison the next example.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import string
from datetime import UTC
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from api.parsers import MAX_DEPTH, DepthLimitedJSONParser
from api.services import api_token_create
from locker.forms import KeyImportForm
from locker.services import _KEY_RE, normalise_key, parse_key_file
from tests.factories import org_of, stock

ORDERS = "/api/v1/orders/"
PROBLEM = "application/problem+json"

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(BOUNDED, max_examples=60)

# --- strategies -------------------------------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def nested_json(draw: Any) -> str:
    """Lists or objects nested up to 6,000 deep around an arbitrary value: the RecursionError shape. Depths
    cluster around the parser's limit and Python's recursion limit, where the edges are."""
    depth = draw(
        st.integers(0, 6000)
        | st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2)
        | st.integers(950, 1050)
        | st.sampled_from([5000])
    )
    inner = json.dumps(draw(json_values))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"lines":[', "]}")]))
    return opener * depth + inner + closer * depth


texts_with_surprises = st.text(
    st.characters(codec=None, exclude_categories=()), max_size=60
)  # any code point, lone surrogates and NUL included


# --- the JSON parser --------------------------------------------------------------------------------------
def _parse(raw: bytes, encoding: str = "utf-8") -> Any:
    return DepthLimitedJSONParser().parse(io.BytesIO(raw), "application/json", {"encoding": encoding})


@BOUNDED
@given(raw=st.binary(max_size=300))
def test_all2_fuzz_json_parser_on_arbitrary_bytes(raw: bytes) -> None:
    """ALL-2: any bytes either parse or raise ParseError (a 400), nothing else."""
    with contextlib.suppress(ParseError):
        _parse(raw)


@BOUNDED
@given(body=nested_json(), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_all2_fuzz_json_parser_on_nested_json(body: str, encoding: str) -> None:
    """ALL-2: nested JSON parses to the same value up to the depth limit and is a ParseError beyond it."""
    try:
        raw = body.encode(encoding)
    except UnicodeEncodeError:
        raw = body.encode("utf-8")
        encoding = "utf-8"
    try:
        parsed = _parse(raw, encoding)
    except ParseError:
        return
    assert parsed == json.loads(body)  # only refusals differ from the standard library


@BOUNDED
@given(value=json_values)
def test_all2_fuzz_json_parser_round_trips_shallow_values(value: Any) -> None:
    """ALL-2: the depth limit refuses nothing the generated (shallow) values contain."""
    assert _parse(json.dumps(value).encode()) == json.loads(json.dumps(value))
    assert MAX_DEPTH >= 8


# --- through the real API, with a real token ------------------------------------------------------------
@pytest.fixture
def fuzz_api(reseller: Any, settings: Any, product: Any) -> APIClient:
    settings.API_THROTTLE_RATE = "1000000/min"
    stock(product, 3)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=org_of(reseller), user=reseller, name='fuzz')[1]}"
    )
    return client


def _rolled_back(send: Any) -> Any:
    """Run one example in a savepoint that is rolled back: examples are independent."""
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


def _assert_not_a_server_error(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert response["Content-Type"] == PROBLEM, response["Content-Type"]
        assert isinstance(response.json()["code"], str)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


cursor_strings = (
    texts_with_surprises.filter(lambda t: "\x00" not in t)  # a query string cannot carry NUL
    | st.builds(
        lambda p, o, r: _b64(urlencode({k: v for k, v in (("p", p), ("o", o), ("r", r)) if v is not None})),
        st.none() | st.text(max_size=40) | st.datetimes(timezones=st.just(UTC)).map(str),
        st.none() | st.text(string.digits + "-", max_size=6),
        st.none() | st.sampled_from(["0", "1", "x", ""]),
    )
    | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
)


@pytest.mark.django_db
@BOUNDED
@given(cursor=cursor_strings, url=st.sampled_from([ORDERS, "/api/v1/invoices/", "/api/v1/products/"]))
def test_all2_fuzz_cursors_never_give_a_500(fuzz_api: APIClient, cursor: str, url: str) -> None:
    """ALL-2: any cursor, base64 or not, with any position, offset and direction, answers 200 or a 4xx."""
    response = _rolled_back(lambda: fuzz_api.get(url, {"cursor": cursor}))
    _assert_not_a_server_error(response)
    if response.status_code == 400:
        assert response.json()["code"] == "invalid_cursor"


def _order_shaped(product_sku: str) -> st.SearchStrategy[Any]:
    line = st.fixed_dictionaries(
        {},
        optional={
            "sku": st.just(product_sku) | texts_with_surprises | json_values,
            "quantity": st.integers(-(2**70), 2**70) | json_values,
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "end_customer_email": st.emails() | st.just("fuzz@end.test") | texts_with_surprises | json_values,
            "lines": st.lists(line, max_size=3) | json_values,
        },
    )


@pytest.mark.django_db
@BOUNDED
@given(data=st.data())
def test_all2_fuzz_order_create_never_gives_a_500(fuzz_api: APIClient, product: Any, data: Any) -> None:
    """ALL-2: POST /api/v1/orders/ with arbitrary JSON (valid-looking or not, with or without an
    Idempotency-Key) answers 201 or a 4xx problem."""
    # json.dumps sends lone surrogates as \\udXXX escapes, as any client may
    raw = data.draw((_order_shaped(product.sku) | json_values).map(json.dumps) | nested_json(), label="body")
    key = data.draw(st.none() | st.text(st.characters(max_codepoint=255), max_size=300), label="key")
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    response = _rolled_back(lambda: fuzz_api.post(ORDERS, raw, content_type="application/json", **headers))
    _assert_not_a_server_error(response)


@pytest.mark.django_db
@FEW
@given(raw=st.binary(max_size=200) | nested_json().map(str.encode))
def test_all2_fuzz_order_create_raw_bytes_never_give_a_500(fuzz_api: APIClient, raw: bytes) -> None:
    """ALL-2: any bytes as an order body answer a 4xx problem (or 201 if they happen to be an order)."""
    response = _rolled_back(lambda: fuzz_api.post(ORDERS, raw, content_type="application/json"))
    _assert_not_a_server_error(response)


# --- the key-file reader ----------------------------------------------------------------------------------
filenames = st.builds(
    lambda stem, ext: stem + ext,
    st.text(max_size=10),
    st.sampled_from([".csv", ".CSV", ".txt", ".TXT", "", ".csv.txt"]),
)
cells = (
    st.text(max_size=30)
    | st.just("ABCDE-FGHIJ-KLMNO-PQRST-UVWXY")
    | st.sampled_from(["key", "Product Key", '"', '""', "\x00", "\r", "\u2028"])
    | st.integers(131_000, 131_200).map(lambda n: "K" * n)  # around csv's 131,072-character field limit
)
csv_texts = st.builds(
    lambda rows, sep, quote: "\n".join(sep.join(f'"{c}"' if quote else c for c in row) for row in rows),
    st.lists(st.lists(cells, max_size=4), max_size=8),
    st.sampled_from([",", ";", "\t"]),
    st.booleans(),
)


@BOUNDED
@given(content=texts_with_surprises | csv_texts, filename=filenames)
def test_all2_fuzz_parse_key_file_never_raises(content: str, filename: str) -> None:
    """ALL-2: any text, as CSV or text, gives (line number, raw key) pairs with real line numbers, and
    normalise_key turns each into a key or None, never an exception."""
    numbered = parse_key_file(content, filename)
    line_count = len(content.splitlines())
    numbers = [n for n, _raw in numbered]
    assert numbers == sorted(set(numbers)) and all(1 <= n <= line_count for n in numbers)
    for _n, raw in numbered:
        assert isinstance(raw, str)
        key = normalise_key(raw)
        assert key is None or (10 <= len(key) <= 64 and _KEY_RE.match(key))


@BOUNDED
@given(raw=texts_with_surprises | st.text(max_size=80))
def test_all2_fuzz_normalise_key_never_raises(raw: str) -> None:
    """ALL-2: normalise_key of any text is a key (idempotent) or None."""
    key = normalise_key(raw)
    assert key is None or normalise_key(key) == key


@pytest.mark.django_db
@FEW
@given(raw=st.binary(max_size=300) | csv_texts.map(str.encode), filename=filenames)
def test_all2_fuzz_key_upload_form_never_raises(product: Any, raw: bytes, filename: str) -> None:
    """ALL-2: the admin upload form takes any bytes under any name: valid, or errors next to its fields."""
    name = filename or "keys"
    # Django's multipart parser drops a file whose name has no base name ("/", "..") before a form sees it.
    assume(os.path.basename(name) not in {"", ".", ".."})
    upload = SimpleUploadedFile(name, raw, content_type="text/plain")
    form = KeyImportForm({"product": product.pk}, {"file": upload})
    if form.is_valid():
        parse_key_file(form.cleaned_data["content"], upload.name or "")
    else:
        assert set(form.errors) <= {"file"}, form.errors
