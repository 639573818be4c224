"""Issue #11 item 7 (ALL-1): CSV exports open in a spreadsheet as data, never as formulas."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.csv_export import csv_rows, spreadsheet_safe
from locker.models import KeyImport
from tests.factories import make_product, random_key, stock


# Written out, not taken from the module: a character dropped there must fail here.
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "\0", " =", "  +", " \t@"])
def test_every_formula_start_is_escaped(start):
    assert spreadsheet_safe(f"{start}1+1") == f"'{start}1+1"


def test_text_that_runs_nothing_and_typed_values_stay_as_they_are():
    # An e-mail address may legally begin with "=": it stays readable, as text.
    assert spreadsheet_safe("=cmd|' /C calc'!A0@evil.test") == "'=cmd|' /C calc'!A0@evil.test"
    assert spreadsheet_safe("buyer@shop.test") == "buyer@shop.test"
    assert spreadsheet_safe("a=b+c") == "a=b+c"
    assert spreadsheet_safe(-5) == -5 and spreadsheet_safe(2.5) == 2.5
    assert spreadsheet_safe(date(2026, 12, 1)) == date(2026, 12, 1)
    assert spreadsheet_safe(None) == ""
    assert spreadsheet_safe(True) == "True"


def test_rows_stream_as_utf8_csv_with_a_byte_order_mark():
    chunks = list(csv_rows(["Name", "E-mail"], [['Łódź, "Sp"', "=x@y.test"], ["-1", 3]]))
    assert chunks[0].startswith("\ufeff") and len(chunks) == 3
    parsed = list(csv.reader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    assert parsed == [["Name", "E-mail"], ['Łódź, "Sp"', "'=x@y.test"], ["'-1", "3"]]


@pytest.mark.django_db
def test_key_import_report_is_a_safe_csv_without_any_key(staff_client, django_capture_on_commit_callbacks):
    """The admin's report of a key import: one row per rejected line by number; the file's and product's
    names (chosen by people) are escaped; no key and no rejected line's content appear."""
    product = make_product(name="@SUM(1+1)")
    existing = stock(product, 1)[0]
    fresh = random_key()
    malformed = "-2+3+cmd|' /C calc'!A0"
    lines = ["serial,key", f"1,{fresh}", f"2,{existing}", f"3,{malformed}"]
    upload = SimpleUploadedFile('=HYPERLINK("evil.test";"open").csv', "\n".join(lines).encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:locker_keyimport_add"), {"product": product.pk, "file": upload}
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    job = KeyImport.objects.get(product=product, filename__startswith="=")
    assert job.status == KeyImport.Status.DONE

    page = staff_client.get(reverse("admin:locker_keyimport_change", args=[job.pk])).content.decode()
    url = reverse("admin:locker_keyimport_report", args=[job.pk])
    assert url in page
    response = staff_client.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="key-import-')
    body = b"".join(response.streaming_content).decode("utf-8")
    assert fresh not in body and existing not in body and "calc" not in body
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][-2:] == ["line", "problem"]
    assert [(r[4], r[5]) for r in rows[1:]] == [("3", "duplicate key"), ("4", "not a key")]
    assert rows[1][0] == '\'=HYPERLINK("evil.test";"open").csv' and rows[1][1] == "'@SUM(1+1)"
    for row in rows:
        for cell in row:
            assert not cell.lstrip().startswith(("=", "+", "-", "@", "\t", "\r", "\n", "\0")), cell


@pytest.mark.django_db
def test_key_import_report_is_for_staff_only(client, reseller, product):
    job = KeyImport.objects.create(product=product, filename="keys.csv", status=KeyImport.Status.DONE)
    client.force_login(reseller)
    response = client.get(reverse("admin:locker_keyimport_report", args=[job.pk]))
    assert response.status_code in (302, 403) and not response.get("Content-Type", "").startswith("text/csv")
