"""Bulk imports of customers, licences and issued numbers (issue #14; CC-9, CC-10, SUP-2, LOCK-1, ALL-2,
ALL-5): errors by line and nothing half imported, idempotent re-imports, 10,000 lines at a bounded number of
queries, the admin upload run by a worker with its progress page, and no installation number in any error,
log line or admin page.

Installation numbers are generated at run time (``random_number``), never written in a file of the repo;
the CSV files are written to the test's temporary directory."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import string
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation
from catalog.models import Product
from centre.models import ImportJob, IssuedNumber, Licence, LicenceEvent
from centre.services.imports import customers_import, import_job_create, import_job_run, licences_import
from centre.services.licences import installation_fingerprint
from centre.tasks import run_import_job
from locker import vault
from tests.conftest import wait_until
from tests.factories import make_org, make_product, make_user


def random_number() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(command: str, path: Path, capsys: Any) -> tuple[str, str]:
    call_command(command, str(path))
    out = capsys.readouterr()
    return out.out, out.err


def refused(command: str, path: Path, capsys: Any) -> str:
    with pytest.raises(CommandError) as error:
        call_command(command, str(path))
    return capsys.readouterr().err + str(error.value)


@pytest.fixture
def office(db: None) -> Product:
    return make_product("O2021-STD", name="Office Standard 2021", edition="STANDARD", support_months=3)


@pytest.fixture
def suite(db: None) -> Product:
    return make_product(
        "CS-PRO", name="Commerce Suite PROFESSIONAL", edition="PROFESSIONAL", support_months=6
    )


@pytest.fixture
def acme(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.CUSTOMER,
        name="Acme",
        customer_id="C-1",
        tax_id="PL5260250995",
        country_code="PL",
    )


# --- customers ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_cc9_import_customers_creates_and_updates_with_normalised_tax_ids_bom_and_semicolons(
    tmp_path, capsys, acme
):
    """A UTF-8 file with a BOM, separated by semicolons: new customers are created (kind customer, tax id
    normalised, the ISO code kept as country_code), a known customer id is updated."""
    path = write(
        tmp_path,
        "customers.csv",
        "customer_id;tax_id;name;country\nC-1;PL 526-025-09-95;Acme Sp. z o.o.;pl\nC-2;de 123.456;Łódź GmbH;DE\n",
        bom=True,
    )
    out, err = run("import_customers", path, capsys)
    assert "1 created, 1 updated, 0 unchanged" in out
    assert "100.0%" in err  # the progress bar, on stderr
    acme.refresh_from_db()
    assert (acme.name, acme.tax_id_normalised, acme.country_code) == ("Acme Sp. z o.o.", "PL5260250995", "PL")
    new = Organisation.objects.get(customer_id="C-2")
    assert new.is_customer and new.name == "Łódź GmbH"
    assert (new.tax_id_normalised, new.country_code) == ("DE123456", "DE")


@pytest.mark.django_db
def test_cc9_import_customers_twice_changes_nothing_the_second_time(tmp_path, capsys):
    path = write(tmp_path, "c.csv", "customer_id,tax_id,name,country\nC-7,123,Seven,PL\nC-8,456,Eight,CZ\n")
    run("import_customers", path, capsys)
    before = list(Organisation.objects.order_by("pk").values())
    out, _err = run("import_customers", path, capsys)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert list(Organisation.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_cc9_all2_import_customers_reports_every_error_by_line_and_imports_nothing(tmp_path, capsys, acme):
    text = (
        "customer_id,tax_id,name,country\n"
        "C-10,111,Good One,PL\n"
        "\n"
        "C-11,,No Tax,PL\n"  # line 4
        ",222,No Id,PL\n"  # line 5
        "C-10,333,Again,PL\n"  # line 6
        "C-12,444,Bad Country,Poland\n"  # line 7
        "C-13,555\n"  # line 8
        "C-1,666,Acme renamed,PL\n"  # line 9: fine, but nothing is imported
    )
    err = refused("import_customers", write(tmp_path, "c.csv", text), capsys)
    assert "line 4: tax id missing" in err
    assert "line 5: customer id missing" in err
    assert "line 6: customer id repeated (also on line 2)" in err
    assert "line 7: country must be a two-letter ISO code" in err
    assert "line 8: the line's fields: 2, the header's: 4" in err
    assert "nothing was imported" in err
    assert list(Organisation.objects.values_list("customer_id", "name")) == [("C-1", "Acme")]


@pytest.mark.django_db
def test_all2_import_refuses_a_file_without_header_or_not_utf8(tmp_path, capsys):
    err = refused("import_customers", write(tmp_path, "c.csv", "C-1,1,Name,PL\n"), capsys)
    assert "line 1: the header lacks the column" in err
    err = refused("import_customers", write(tmp_path, "e.csv", ""), capsys)
    assert "line 1: a header row is required" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("customer_id,tax_id,name,country\nC-1,1,Zürich,CH\n".encode("latin-1"))
    assert "UTF-8" in refused("import_customers", latin, capsys)
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_cc9_ten_thousand_customers_import_at_a_bounded_number_of_queries(django_assert_max_num_queries):
    """10,000 lines: lookups and writes in batches of 1,000, never a query per line; the same file again
    changes nothing, at the same bounded cost."""
    lines = ["customer_id,tax_id,name,country"] + [
        f"B-{i:05d},PL{i:010d},Company {i},PL" for i in range(10_000)
    ]
    content = "\n".join(lines) + "\n"
    with django_assert_max_num_queries(30):
        result = customers_import(content=content)
    assert result.created == 10_000 and not result.errors
    changed = content.replace("Company 42,", "Company Forty-Two,")
    with django_assert_max_num_queries(30):
        again = customers_import(content=changed)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 9_999)
    assert Organisation.objects.get(customer_id="B-00042").name == "Company Forty-Two"


# --- licences and issued numbers --------------------------------------------------------------------------
def licences_csv(
    *rows: str, header: str = "customer_id,sku,installation_number,purchase_date,support_number"
) -> str:
    return header + "\n" + "\n".join(rows) + "\n"


@pytest.mark.django_db
def test_cc9_cc10_sup2_import_licences_books_direct_licences_and_issued_numbers(
    tmp_path, capsys, caplog, acme, office, suite
):
    """A line with a customer id books a direct licence (sealed number, support from the purchase date,
    support number from the ERP or issued now, a ``booked`` event); a line without one, or with source
    ``partner``, stores an issued number waiting for its registration (CC-10), sealed too."""
    direct, given, partner, named = (random_number() for _ in range(4))
    text = licences_csv(
        f"C-1,O2021-STD,{direct},2026-01-31,,",
        f"C-1,CS-PRO,{given},2026-02-10,ERP-1001,direct",
        f",CS-PRO,{partner},2026-03-01,,",
        f"C-1,O2021-STD,{named},2026-03-02,ERP-2002,partner",
        header="customer_id,sku,installation_number,purchase_date,support_number,source",
    )
    caplog.set_level(logging.DEBUG)
    out, err = run("import_licences", write(tmp_path, "l.csv", text), capsys)
    assert "2 licences booked, 2 numbers issued, 0 unchanged" in out
    year = timezone.localdate().year
    first = Licence.objects.get(number_fingerprint=installation_fingerprint(direct))
    assert first.customer == acme and first.source == Licence.Source.DIRECT and first.edition == "STANDARD"
    assert first.support_number == f"S-{year}-000001"
    assert first.support_ends_on == date(2026, 4, 30)  # SUP-2: three months
    assert vault.open_from(first, Licence.SEAL_KIND) == direct
    second = Licence.objects.get(support_number="ERP-1001")
    assert second.support_ends_on == date(2026, 8, 10) and vault.open_from(second, Licence.SEAL_KIND) == given
    assert LicenceEvent.objects.filter(kind=LicenceEvent.Kind.BOOKED).count() == 2

    loose = IssuedNumber.objects.get(number_fingerprint=installation_fingerprint(partner))
    assert loose.customer is None and loose.sale_date == date(2026, 3, 1) and loose.licence is None
    assert vault.open_from(loose, IssuedNumber.SEAL_KIND) == partner
    for_acme = IssuedNumber.objects.get(support_number="ERP-2002")
    assert for_acme.customer == acme and for_acme.product.sku == "O2021-STD"
    assert Licence.objects.count() == 2  # issued numbers are no licences until registered
    for number in (direct, given, partner, named):
        assert number not in out + err + caplog.text
        raw = IssuedNumber.objects.values_list("number_ciphertext", flat=True)
        assert all(number.encode() not in bytes(value) for value in raw)


@pytest.mark.django_db
def test_cc9_cc10_all2_import_licences_reports_errors_by_line_never_the_number_and_imports_nothing(
    tmp_path, capsys, caplog, acme, office, suite
):
    booked, booked2, issued, fine, repeated = (random_number() for _ in range(5))
    licences_import(
        content=licences_csv(
            f"C-1,O2021-STD,{booked},2026-01-01,ERP-9",
            f"C-1,O2021-STD,{booked2},2026-01-01,",
            f",O2021-STD,{issued},2026-01-02,",
        )
    )
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    text = licences_csv(
        f"C-1,O2021-STD,{fine},2026-01-05,",  # line 2: fine, but nothing is imported
        f"C-404,O2021-STD,{random_number()},2026-01-05,",  # 3
        f"C-1,NO-SUCH-SKU,{random_number()},2026-01-05,",  # 4
        f"C-1,O2021-STD,{random_number()},05.01.2026,",  # 5
        f"C-1,O2021-STD,{random_number()},2026-02-30,",  # 6
        f"C-1,O2021-STD,{random_number()},{future},",  # 7
        f"C-1,O2021-STD,{fine.lower().replace('-', ' ')},2026-01-05,",  # 8: line 2's number, spelt otherwise
        f"C-1,O2021-STD,{booked},2026-01-05,",  # 9: on a licence (another date)
        f"C-1,O2021-STD,{issued},2026-01-05,",  # 10: issued for a partner's sale
        f",O2021-STD,{booked2},2026-01-05,",  # 11: issued, but already on a licence
        f"C-1,O2021-STD,{repeated},2026-01-05,ERP-9",  # 12: support number taken
        "C-1,O2021-STD,,2026-01-05,",  # 13
        f"C-1,O2021-STD,{random_number()},2026-01-05,ERP-X",  # 14
        f"C-1,O2021-STD,{random_number()},2026-01-05,ERP-X",  # 15: support number repeated
    )
    caplog.set_level(logging.DEBUG)
    err = refused("import_licences", write(tmp_path, "l.csv", text), capsys)
    expected = [
        "line 3: unknown customer id",
        "line 4: unknown SKU",
        "line 5: purchase date is not a date written YYYY-MM-DD",
        "line 6: purchase date is not a date written YYYY-MM-DD",
        "line 7: purchase date is in the future",
        "line 8: this installation number is repeated in the file (line 2)",
        "line 9: this installation number is already on a licence",
        "line 10: this installation number was issued for a partner's sale",
        "line 11: this installation number is already on a licence",
        "line 12: support number already in use",
        "line 13: installation number missing",
        "line 15: support number repeated in the file (line 14)",
    ]
    for message in expected:
        assert message in err, message
    assert "line 2:" not in err and "line 14:" not in err
    assert (Licence.objects.count(), IssuedNumber.objects.count()) == (2, 1)
    for number in (booked, booked2, issued, fine, repeated):
        for spelling in (number, number.replace("-", ""), number.lower()):
            assert spelling not in err and spelling not in caplog.text


@pytest.mark.django_db
def test_lock1_all2_a_licences_file_without_its_header_never_repeats_a_cell(
    tmp_path, capsys, caplog, acme, suite
):
    """LOCK-1: without its header row, a file's first line (with an installation number) is read as the
    header: the refusal counts the columns it does not take and names the ones it does, never the cells,
    in the command's output, the log, or the errors an import keeps (what its admin page shows)."""
    number = random_number()
    text = f"C-1,O2021-STD,{number},2026-01-05,ERP-1\n"
    caplog.set_level(logging.DEBUG)
    err = refused("import_licences", write(tmp_path, "l.csv", text), capsys)
    assert "line 1: 5 columns of the header are not ones this import takes (it takes customer_id" in err
    result = licences_import(content=text)
    shown = " ".join(str(e) for e in result.errors)
    assert "the header lacks the columns" in shown
    for spelling in (number, number.lower(), "c-1", "erp-1"):
        assert spelling not in err and spelling not in caplog.text and spelling not in shown


@pytest.mark.django_db
def test_cc9_import_licences_twice_changes_nothing_the_second_time(tmp_path, capsys, acme, office):
    text = licences_csv(
        f"C-1,O2021-STD,{random_number()},2026-01-05,",
        f"C-1,O2021-STD,{random_number()},2026-01-06,ERP-5",
        f",O2021-STD,{random_number()},2026-01-07,",
        f"C-1,O2021-STD,{random_number()},2026-01-08,",
        header="customer_id,sku,installation_number,purchase_date,support_number",
    )
    path = write(tmp_path, "l.csv", text)
    run("import_licences", path, capsys)
    licences = list(Licence.objects.order_by("pk").values())
    issued = list(IssuedNumber.objects.order_by("pk").values())
    events = LicenceEvent.objects.count()
    out, _err = run("import_licences", path, capsys)
    assert "0 licences booked, 0 numbers issued, 4 unchanged" in out
    assert list(Licence.objects.order_by("pk").values()) == licences
    assert list(IssuedNumber.objects.order_by("pk").values()) == issued
    assert LicenceEvent.objects.count() == events


@pytest.mark.django_db
def test_cc9_ten_thousand_licences_import_at_a_bounded_number_of_queries(
    django_assert_max_num_queries, office
):
    """10,000 lines (half direct, half issued numbers): support numbers taken in one call, rows written in
    batches, never a query per line."""
    customers = [
        Organisation(kind=Organisation.Kind.CUSTOMER, name=f"K{i}", customer_id=f"K-{i}") for i in range(50)
    ]
    Organisation.objects.bulk_create(customers)
    rows = [
        f"{'K-' + str(i % 50) if i % 2 else ''},O2021-STD,{random_number()},2026-01-{1 + i % 28:02d},"
        for i in range(10_000)
    ]
    content = licences_csv(*rows)
    with django_assert_max_num_queries(100):
        result = licences_import(content=content)
    assert not result.errors and (result.created, result.issued) == (5_000, 5_000)
    year = timezone.localdate().year
    assert Licence.objects.filter(support_number=f"S-{year}-005000").exists()
    assert not Licence.objects.filter(number_master_key_id="").exists()
    assert not IssuedNumber.objects.filter(number_master_key_id="").exists()
    with django_assert_max_num_queries(100):
        again = licences_import(content=content)
    assert again.unchanged == 10_000 and not again.errors


@pytest.mark.django_db
def test_lock3_issued_numbers_and_import_files_are_sealed_fields_a_rotation_rewraps(settings, acme, office):
    """LOCK-3: the new sealed columns are in the vault's registry, so a master-key rotation covers them."""
    kinds = {field.kind: field.model for field in vault.registered()}
    assert kinds[IssuedNumber.SEAL_KIND] == "centre.IssuedNumber"
    assert kinds[ImportJob.SEAL_KIND] == "centre.ImportJob"
    number = random_number()
    licences_import(content=licences_csv(f",O2021-STD,{number},2026-01-07,"))
    old_kid = IssuedNumber.objects.get().number_master_key_id
    settings.LOCKER_MASTER_KEYS = [base64.b64encode(os.urandom(32)).decode(), *settings.LOCKER_MASTER_KEYS]
    while vault.rewrap_batch():
        pass
    item = IssuedNumber.objects.get()
    assert item.number_master_key_id == vault.current_master_key_id() != old_kid
    assert vault.open_from(item, IssuedNumber.SEAL_KIND) == number


# --- the admin upload, run by a worker ------------------------------------------------------------------
def upload(staff_client: Any, kind: str, text: str, name: str = "file.csv") -> Any:
    return staff_client.post(
        reverse("admin:centre_importjob_add"),
        {"kind": kind, "file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
    )


@pytest.mark.django_db
def test_cc9_lock1_admin_upload_seals_the_file_runs_the_import_and_shows_the_outcome(
    staff_client, staff, acme, office, django_capture_on_commit_callbacks, caplog
):
    number = random_number()
    text = licences_csv(f"C-1,O2021-STD,{number},2026-01-05,")
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(staff_client, ImportJob.Kind.LICENCES, text)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    assert job.status == ImportJob.Status.QUEUED and job.created_by == staff
    assert number.encode() not in bytes(job.payload_ciphertext)
    assert vault.open_from(job, ImportJob.SEAL_KIND) == text  # sealed, not in storage
    page = staff_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page  # a queued job's page follows it

    for callback in callbacks:
        callback()  # the worker's task, in this process
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.percent == 100
    assert (
        job.summary["created"] == 1
        and job.payload_master_key_id == ""
        and bytes(job.payload_ciphertext) == b""
    )
    assert Licence.objects.get().customer == acme
    page = staff_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page and "created: 1" in page
    listing = staff_client.get(reverse("admin:centre_importjob_changelist")).content.decode()
    issued_list = staff_client.get(reverse("admin:centre_issuednumber_changelist")).content.decode()
    licence_list = staff_client.get(reverse("admin:centre_licence_changelist")).content.decode()
    for html in (page, listing, issued_list, licence_list, caplog.text):
        assert number not in html and number.replace("-", "") not in html


@pytest.mark.django_db
def test_cc9_all2_admin_upload_with_errors_fails_and_lists_them_by_line(
    staff_client, acme, office, django_capture_on_commit_callbacks
):
    number = random_number()
    text = licences_csv(f"C-1,O2021-STD,{number},2026-01-05,", f"C-9,O2021-STD,{random_number()},2026-01-05,")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff_client, ImportJob.Kind.LICENCES, text)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and job.error_count == 1
    assert job.errors == [{"line": 3, "message": "unknown customer id"}]
    assert job.payload_master_key_id == ""  # the sealed file is destroyed either way
    page = staff_client.get(response["Location"]).content.decode()
    assert "line 3: unknown customer id" in page and number not in page
    assert not Licence.objects.exists()


@pytest.mark.django_db
def test_all2_admin_upload_refuses_a_file_that_is_not_utf8_and_keeps_the_form(staff_client):
    response = staff_client.post(
        reverse("admin:centre_importjob_add"),
        {"kind": "customers", "file": SimpleUploadedFile("c.csv", "Zürich".encode("latin-1"))},
    )
    assert response.status_code == 200 and "The file is not UTF-8 text." in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_all5_the_import_task_run_twice_imports_once(staff, django_capture_on_commit_callbacks):
    text = "customer_id,tax_id,name,country\nC-50,5,Fifty,PL\n"
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(
            kind=ImportJob.Kind.CUSTOMERS, filename="c.csv", content=text, created_by=staff
        )
    assert run_import_job(job.pk) == ImportJob.Status.DONE
    assert run_import_job(job.pk) == ImportJob.Status.DONE
    assert import_job_run(job_id=job.pk).summary["created"] == 1
    assert Organisation.objects.filter(customer_id="C-50").count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_cc9_all5_an_uploaded_import_runs_on_the_real_worker(celery_worker):
    """The upload's task goes through Redis to a real Celery worker process, which imports the file and
    marks the job done."""
    staff = make_user(make_org(Organisation.Kind.DISTRIBUTOR), is_staff=True)
    lines = ["customer_id,tax_id,name,country"] + [f"W-{i},PL{i:06d},Worker {i},PL" for i in range(2_000)]
    job = import_job_create(
        kind=ImportJob.Kind.CUSTOMERS, filename="w.csv", content="\n".join(lines), created_by=staff
    )
    wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE,
        timeout=60,
        what="the worker to finish the import",
    )
    assert Organisation.objects.filter(customer_id__startswith="W-").count() == 2_000
    done = ImportJob.objects.get(pk=job.pk)
    assert done.summary["created"] == 2_000 and done.started_at and done.finished_at


@pytest.mark.django_db
def test_all5_the_sweeper_re_enqueues_uploads_a_lost_message_left_queued(
    staff, django_capture_on_commit_callbacks, settings
):
    """ALL-5: an upload whose message was lost stays queued; the sweeper sends it again once it is older
    than the sweep interval, and the run imports it."""
    from centre.tasks import sweep_import_jobs

    text = "customer_id,tax_id,name,country\nC-60,6,Sixty,PL\n"
    with django_capture_on_commit_callbacks(execute=False):  # the message is lost
        job = import_job_create(
            kind=ImportJob.Kind.CUSTOMERS, filename="c.csv", content=text, created_by=staff
        )
    assert sweep_import_jobs() == 0  # too young: its own message may still be on the way
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert sweep_import_jobs() == 1  # tasks run in-process here
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Organisation.objects.filter(customer_id="C-60").exists()
    assert sweep_import_jobs() == 0
