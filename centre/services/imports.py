"""Bulk imports from the distributor's ERP (issue #14; CC-9, CC-10): customers, licences and issued
numbers, from the command line (``import_customers``, ``import_licences``) and from an admin upload run by
a worker (``ImportJob``), through the same two functions.

Every line is checked first, at a cost that does not grow with each line (lookups in batches of
``LOOKUP_BATCH``); any error, reported by its line number ("line 7: tax id missing"), and nothing is
written. Otherwise everything is written in one transaction with bulk statements. A line that matches what
is stored already is left alone, so importing the same file twice changes nothing the second time.

Installation numbers are never in an error, a log line or a report: a line is named by its number only
("line 12: this installation number is already on a licence").
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organisation, normalise_tax_id
from catalog.models import Product
from core.tasking import enqueue_on_commit
from locker import vault

from ..models import ImportJob, IssuedNumber, Licence
from .licences import (
    LOOKUP_BATCH,
    NUMBER_MAX_LENGTH,
    LicenceIn,
    installation_fingerprint,
    licences_book_many,
    normalise_installation_number,
)
from .product_registration import IssuedIn, issued_numbers_issue_many

logger = logging.getLogger(__name__)

CUSTOMER_COLUMNS = ("customer_id", "tax_id", "name", "country")
LICENCE_COLUMNS = ("customer_id", "sku", "installation_number", "purchase_date")
LICENCE_OPTIONAL = ("support_number", "source")
SOURCE_DIRECT, SOURCE_PARTNER = "direct", "partner"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Progress = Callable[[int, int], None]  # (work done, work in all): checking the lines, then writing them
InTransaction = Callable[["ImportResult"], bool]


@dataclass(frozen=True)
class LineError:
    """One problem of one line of the file, by the file's line number (the header is line 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return _("line %(line)d: %(problem)s") % {"line": self.line, "problem": self.message}


@dataclass
class ImportResult:
    lines: int = 0  # data lines read
    created: int = 0  # customers created, or licences booked
    updated: int = 0  # customers changed
    issued: int = 0  # issued numbers stored (licences file)
    unchanged: int = 0  # lines already imported as they are
    errors: list[LineError] = field(default_factory=list)
    written: bool = False

    def summary(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "created": self.created,
            "updated": self.updated,
            "issued": self.issued,
            "unchanged": self.unchanged,
        }


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start : start + LOOKUP_BATCH]


def read_csv(
    content: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> tuple[list[tuple[int, dict[str, str]]], list[LineError]]:
    """The data lines of a CSV file with a header row, as (line number, {column: stripped value}), and the
    lines that could not be read. UTF-8 text with or without a byte-order mark; separated by commas or, when
    the header has more semicolons than commas, by semicolons. Blank lines are skipped. Never raises for any
    text (ALL-2)."""
    content = content.removeprefix("\ufeff")
    first = next((line for line in content.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    errors: list[LineError] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
    except csv.Error:
        header = None
    if header is None:
        return [], [
            LineError(1, _("a header row is required (%(columns)s)") % {"columns": ",".join(required)})
        ]
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    header_line = reader.line_num
    missing = [name for name in required if name not in names]
    unknown = [name for name in names if name not in required + optional]
    if missing:
        errors.append(
            LineError(
                header_line,
                ngettext(
                    "the header lacks the column %(names)s",
                    "the header lacks the columns %(names)s",
                    len(missing),
                )
                % {"names": ", ".join(missing)},
            )
        )
    if unknown:
        # Counted, never repeated: a file without its header row has a data line here, and its cells
        # (an installation number) must not reach an error shown to staff or printed (LOCK-1).
        errors.append(
            LineError(
                header_line,
                ngettext(
                    "%(n)d column of the header is not one this import takes (it takes %(columns)s)",
                    "%(n)d columns of the header are not ones this import takes (it takes %(columns)s)",
                    len(unknown),
                )
                % {"n": len(unknown), "columns": ", ".join(required + optional)},
            )
        )
    if len(set(names)) != len(names):
        errors.append(LineError(header_line, _("a column is named twice in the header")))
    if errors:
        return [], errors
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            errors.append(LineError(reader.line_num, _("cannot be read as CSV")))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            errors.append(
                LineError(
                    reader.line_num,
                    _("the line's fields: %(n)d, the header's: %(m)d") % {"n": len(row), "m": len(names)},
                )
            )
            continue
        rows.append((reader.line_num, {name: cell.strip() for name, cell in zip(names, row, strict=True)}))
    return rows, errors


class _Tracker:
    """Calls ``progress`` as the lines are checked (the first half) and written (the second)."""

    def __init__(self, progress: Progress | None, lines: int) -> None:
        self.progress, self.total, self.done = progress, 2 * lines, 0

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.progress is not None:
            self.progress(self.done, self.total)


def _concurrent_change() -> LineError:
    return LineError(
        0, _("the same records were changed while this file was imported; nothing was imported, run it again")
    )


def _write_all(
    result: ImportResult,
    tracker: _Tracker,
    in_transaction: InTransaction | None,
    *,
    first: Callable[[], object],
    first_size: int,
    then: Callable[[], object],
    actor: Any,
    logged: str,
) -> ImportResult:
    """Write a file whose every line passed its checks, all in one transaction, for both importers alike:
    ``first`` (worth ``first_size`` lines of progress), then ``then`` (the rest of the progress).
    ``in_transaction`` may stop it before anything is written (an admin job another run has finished). A
    concurrent change of the same records writes nothing and becomes the file's one error, with the counts
    back to zero. A write is logged as ``logged``, which names ``actor`` and the counts of
    ``ImportResult.summary`` (never a line's content)."""
    try:
        with transaction.atomic():
            if in_transaction is not None and not in_transaction(result):
                return result
            first()
            tracker.advance(first_size)
            then()
            tracker.advance(tracker.total)
    except IntegrityError:
        result.created = result.updated = result.issued = 0
        result.errors.append(_concurrent_change())
        return result
    result.written = True
    logger.info(logged, {"actor": getattr(actor, "pk", None), **result.summary()})
    return result


# --- customers ---------------------------------------------------------------------------------------
def customers_import(
    *,
    content: str,
    actor: Any = None,
    progress: Progress | None = None,
    in_transaction: InTransaction | None = None,
) -> ImportResult:
    """Create or update customer organisations from ``customer_id,tax_id,name,country`` lines (the tax id
    normalised, the country an ISO 3166-1 alpha-2 code kept as ``country_code``). All or nothing."""
    rows, errors = read_csv(content, required=CUSTOMER_COLUMNS)
    result = ImportResult(lines=len(rows), errors=errors)
    tracker = _Tracker(progress, len(rows))
    seen: dict[str, int] = {}
    wanted: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        problems = []
        customer_id, tax_id, name = row["customer_id"], row["tax_id"], row["name"]
        country = row["country"].upper()
        if not customer_id:
            problems.append(_("customer id missing"))
        elif len(customer_id) > 32:
            problems.append(_("a customer id has at most 32 characters"))
        elif customer_id in seen:
            problems.append(_("customer id repeated (also on line %(line)d)") % {"line": seen[customer_id]})
        if not normalise_tax_id(tax_id):
            problems.append(_("tax id missing"))
        elif len(tax_id) > 40:
            problems.append(_("a tax id has at most 40 characters"))
        if not name:
            problems.append(_("name missing"))
        elif len(name) > 200:
            problems.append(_("a name has at most 200 characters"))
        if not country:
            problems.append(_("country missing"))
        elif not _COUNTRY.match(country):
            problems.append(_("country must be a two-letter ISO code, e.g. PL"))
        if customer_id and customer_id not in seen:
            seen[customer_id] = line
        if problems:
            result.errors.extend(LineError(line, problem) for problem in problems)
            continue
        wanted.append(
            (line, {"customer_id": customer_id, "tax_id": tax_id, "name": name, "country": country})
        )

    existing: dict[str, Organisation] = {}
    for batch in _batches(wanted):
        found = Organisation.objects.filter(
            kind=Organisation.Kind.CUSTOMER, customer_id__in=[row["customer_id"] for _line, row in batch]
        ).only("pk", "customer_id", "name", "tax_id", "tax_id_normalised", "country_code")
        existing.update({org.customer_id or "": org for org in found})
        tracker.advance(len(batch))
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result

    to_create: list[Organisation] = []
    to_update: list[Organisation] = []
    for _line, row in wanted:
        org = existing.get(row["customer_id"])
        if org is None:
            to_create.append(
                Organisation(
                    kind=Organisation.Kind.CUSTOMER,
                    customer_id=row["customer_id"],
                    name=row["name"],
                    tax_id=row["tax_id"],
                    tax_id_normalised=normalise_tax_id(row["tax_id"]),
                    country_code=row["country"],
                )
            )
        elif (org.name, org.tax_id, org.country_code) != (row["name"], row["tax_id"], row["country"]):
            org.name, org.tax_id, org.country_code = row["name"], row["tax_id"], row["country"]
            org.tax_id_normalised = normalise_tax_id(row["tax_id"])
            to_update.append(org)
        else:
            result.unchanged += 1
    result.created, result.updated = len(to_create), len(to_update)
    return _write_all(
        result,
        tracker,
        in_transaction,
        first=lambda: Organisation.objects.bulk_create(to_create, batch_size=LOOKUP_BATCH),
        first_size=len(to_create),
        then=lambda: Organisation.objects.bulk_update(
            to_update, ["name", "tax_id", "tax_id_normalised", "country_code"], batch_size=LOOKUP_BATCH
        ),
        actor=actor,
        logged="Customers imported by %(actor)s: %(created)d created, %(updated)d updated, "
        "%(unchanged)d unchanged",
    )


# --- licences and issued numbers ---------------------------------------------------------------------
@dataclass
class _LicenceLine:
    line: int
    customer_key: str
    sku: str
    number: str
    fingerprint: str
    purchase_date: date
    support_number: str
    source: str


def _parse_date(text: str) -> date | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@sensitive_variables()
def _check_licence_line(line: int, row: dict[str, str], today: date) -> tuple[_LicenceLine | None, list[str]]:
    problems: list[str] = []
    customer_key = row["customer_id"]
    source = (row.get("source") or "").lower() or (SOURCE_DIRECT if customer_key else SOURCE_PARTNER)
    if source not in (SOURCE_DIRECT, SOURCE_PARTNER):
        problems.append(_("source must be “direct” or “partner”"))
    elif source == SOURCE_DIRECT and not customer_key:
        problems.append(_("a direct licence needs a customer id"))
    if not row["sku"]:
        problems.append(_("SKU missing"))
    number = row["installation_number"]
    if not normalise_installation_number(number):
        problems.append(_("installation number missing"))
    elif len(number) > NUMBER_MAX_LENGTH:
        problems.append(
            ngettext(
                "an installation number has at most %(n)d character",
                "an installation number has at most %(n)d characters",
                NUMBER_MAX_LENGTH,
            )
            % {"n": NUMBER_MAX_LENGTH}
        )
    purchase_date = _parse_date(row["purchase_date"])
    if not row["purchase_date"]:
        problems.append(_("purchase date missing"))
    elif purchase_date is None:
        problems.append(_("purchase date is not a date written YYYY-MM-DD"))
    elif purchase_date > today:
        problems.append(_("purchase date is in the future"))
    support_number = row.get("support_number") or ""
    if len(support_number) > 40:
        problems.append(_("a support number has at most 40 characters"))
    if problems:
        return None, problems
    assert purchase_date is not None
    return (
        _LicenceLine(
            line=line,
            customer_key=customer_key,
            sku=row["sku"],
            number=number,
            fingerprint=installation_fingerprint(number),
            purchase_date=purchase_date,
            support_number=support_number,
            source=source,
        ),
        [],
    )


@sensitive_variables()
def licences_import(
    *,
    content: str,
    actor: Any = None,
    progress: Progress | None = None,
    in_transaction: InTransaction | None = None,
) -> ImportResult:
    """Book direct licences and store issued numbers from ``customer_id,sku,installation_number,
    purchase_date[,support_number][,source]`` lines (CC-9, CC-10). A line with a customer id and source
    ``direct`` (the default then) books a licence of that customer (``licences_book_many``); a line
    without a customer id, or with source ``partner``, is a number issued with a partner's sale, naming the
    customer when one is given (``issued_numbers_issue_many``). All or nothing."""
    rows, errors = read_csv(content, required=LICENCE_COLUMNS, optional=LICENCE_OPTIONAL)
    result = ImportResult(lines=len(rows), errors=errors)
    tracker = _Tracker(progress, len(rows))
    today = timezone.localdate()
    lines: list[_LicenceLine] = []
    by_fingerprint: dict[str, int] = {}
    by_support: dict[str, int] = {}
    for line, row in rows:
        checked, problems = _check_licence_line(line, row, today)
        if checked is not None:
            first = by_fingerprint.setdefault(checked.fingerprint, line)
            if first != line:
                problems.append(
                    _("this installation number is repeated in the file (line %(line)d)") % {"line": first}
                )
            if checked.support_number:
                first = by_support.setdefault(checked.support_number, line)
                if first != line:
                    problems.append(
                        _("support number repeated in the file (line %(line)d)") % {"line": first}
                    )
        if problems:
            result.errors.extend(LineError(line, problem) for problem in problems)
        elif checked is not None:
            lines.append(checked)

    customers: dict[str, int] = {}
    products: dict[str, Product] = {}
    licences: dict[str, dict[str, Any]] = {}
    issued: dict[str, dict[str, Any]] = {}
    support_taken: set[str] = set()
    for batch in _batches(lines):
        keys = {item.customer_key for item in batch if item.customer_key} - customers.keys()
        found = Organisation.objects.filter(kind=Organisation.Kind.CUSTOMER, customer_id__in=keys)
        customers.update((key or "", pk) for key, pk in found.values_list("customer_id", "pk"))
        skus = {item.sku for item in batch} - products.keys()
        products.update({p.sku: p for p in Product.objects.filter(sku__in=skus)})
        fingerprints = [item.fingerprint for item in batch]
        for on_licence in Licence.objects.filter(number_fingerprint__in=fingerprints).values(
            "number_fingerprint", "customer_id", "product_id", "purchase_date", "support_number"
        ):
            licences[on_licence["number_fingerprint"]] = dict(on_licence)
        for was_issued in IssuedNumber.objects.filter(number_fingerprint__in=fingerprints).values(
            "number_fingerprint", "customer_id", "product_id", "sale_date", "support_number"
        ):
            issued[was_issued["number_fingerprint"]] = dict(was_issued)
        wanted = [item.support_number for item in batch if item.support_number]
        if wanted:
            support_taken.update(
                Licence.objects.filter(support_number__in=wanted).values_list("support_number", flat=True)
            )
            support_taken.update(
                IssuedNumber.objects.filter(support_number__in=wanted).values_list(
                    "support_number", flat=True
                )
            )
        tracker.advance(len(batch))

    direct: list[LicenceIn] = []
    partner: list[IssuedIn] = []
    for item in lines:
        problems = []
        customer_pk = customers.get(item.customer_key) if item.customer_key else None
        product = products.get(item.sku)
        if item.customer_key and customer_pk is None:
            problems.append(_("unknown customer id"))
        if product is None:
            problems.append(_("unknown SKU"))
        if problems:
            result.errors.extend(LineError(item.line, problem) for problem in problems)
            continue
        assert product is not None
        given_support = item.support_number
        if item.source == SOURCE_DIRECT:
            held = licences.get(item.fingerprint)
            if item.fingerprint in issued:
                problems.append(_("this installation number was issued for a partner's sale"))
            elif held is not None:
                same = (
                    held["customer_id"] == customer_pk
                    and held["product_id"] == product.pk
                    and held["purchase_date"] == item.purchase_date
                    and given_support in ("", held["support_number"])
                )
                if same:
                    result.unchanged += 1
                    continue
                problems.append(_("this installation number is already on a licence"))
            elif given_support in support_taken:
                problems.append(_("support number already in use"))
            if not problems:
                assert customer_pk is not None
                direct.append(
                    LicenceIn(
                        customer_id=customer_pk,
                        product=product,
                        installation_number=item.number,
                        fingerprint=item.fingerprint,
                        purchase_date=item.purchase_date,
                        support_number=given_support,
                    )
                )
        else:
            known = issued.get(item.fingerprint)
            if known is not None:
                same = (
                    known["customer_id"] == customer_pk
                    and known["product_id"] == product.pk
                    and known["sale_date"] == item.purchase_date
                    and given_support == known["support_number"]
                )
                if same:
                    result.unchanged += 1
                    continue
                problems.append(_("this installation number was already issued"))
            elif item.fingerprint in licences:
                problems.append(_("this installation number is already on a licence"))
            elif given_support in support_taken:
                problems.append(_("support number already in use"))
            if not problems:
                partner.append(
                    IssuedIn(
                        product=product,
                        installation_number=item.number,
                        fingerprint=item.fingerprint,
                        sale_date=item.purchase_date,
                        customer_id=customer_pk,
                        support_number=given_support,
                    )
                )
        result.errors.extend(LineError(item.line, problem) for problem in problems)
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result

    result.created, result.issued = len(direct), len(partner)
    return _write_all(
        result,
        tracker,
        in_transaction,
        first=lambda: licences_book_many(rows=direct, actor=actor),
        first_size=len(direct),
        then=lambda: issued_numbers_issue_many(rows=partner, actor=actor),
        actor=actor,
        logged="Licences imported by %(actor)s: %(created)d booked, %(issued)d issued numbers, "
        "%(unchanged)d unchanged",
    )


IMPORTERS: dict[str, Callable[..., ImportResult]] = {
    ImportJob.Kind.CUSTOMERS.value: customers_import,
    ImportJob.Kind.LICENCES.value: licences_import,
}


# --- the admin upload, run by a worker ---------------------------------------------------------------
def import_job_create(*, kind: str, filename: str, content: str, created_by: Any) -> ImportJob:
    """Keep an uploaded file sealed (a licences file holds installation numbers, LOCK-1) and hand it to a
    worker once committed; the admin page follows its progress."""
    if kind not in IMPORTERS:
        raise ValueError(f"Unknown import kind {kind!r}")
    with transaction.atomic():
        job = ImportJob.objects.create(kind=kind, filename=filename[:255], created_by=created_by)
        vault.seal_into(job, ImportJob.SEAL_KIND, content)
        job.save(update_fields=list(vault.columns(ImportJob.SEAL_KIND)))
        enqueue_on_commit("centre.tasks.run_import_job", job.pk)
    return job


_EMPTY_PAYLOAD = {"payload_ciphertext": b"", "payload_wrapped_key": b"", "payload_master_key_id": ""}


def import_job_run(*, job_id: int) -> ImportJob:
    """Run an uploaded import through the same service as the command. Idempotent: a finished job is
    left alone, and the job is marked done in the transaction that writes the import, under its row's
    lock, so a second run of the task at the same time writes nothing. The sealed file is destroyed when
    the run ends, done or failed; the errors are kept by line number."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return job
    try:
        content = vault.open_from(job, ImportJob.SEAL_KIND)
    except vault.VaultError:
        return _job_failed(job, [LineError(0, _("the uploaded file could not be opened"))])
    ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())
    step = {"last": -1}

    def progress(done: int, total: int) -> None:
        # About a hundred updates whatever the size of the file.
        if done == total or done - step["last"] >= max(1, total // 100):
            step["last"] = done
            ImportJob.objects.filter(pk=job.pk).update(progress_done=done, progress_total=total)

    def mark_done(result: ImportResult) -> bool:
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            return False  # another run of the task got here first
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.DONE,
            finished_at=timezone.now(),
            summary=result.summary(),
            progress_done=2 * result.lines,
            progress_total=2 * result.lines,
            **_EMPTY_PAYLOAD,
        )
        return True

    try:
        result = IMPORTERS[job.kind](
            content=content, actor=job.created_by, progress=progress, in_transaction=mark_done
        )
    except Exception:
        logger.exception("Centre import %s failed", job.pk)
        _job_failed(job, [LineError(0, _("the import stopped on an unexpected error; staff were told"))])
        raise
    finally:
        del content
    if result.errors:
        return _job_failed(job, result.errors, summary=result.summary())
    job.refresh_from_db()
    return job


def _job_failed(job: ImportJob, errors: list[LineError], summary: dict[str, int] | None = None) -> ImportJob:
    kept = [{"line": e.line, "message": e.message} for e in errors[: ImportJob.ERRORS_KEPT]]
    ImportJob.objects.filter(pk=job.pk).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED,
        finished_at=timezone.now(),
        errors=kept,
        error_count=len(errors),
        summary=summary or {},
        **_EMPTY_PAYLOAD,
    )
    job.refresh_from_db()
    return job
