"""Keys coming into the locker (LOCK-5): parsing key files, sealing and storing new keys, and bulk imports
handed to a worker from the admin."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from core.tasking import enqueue_on_commit

from .. import vault
from ..models import KeyImport, ProductKey
from ..signals import stock_added
from ._batches import LOOKUP_BATCH
from .key_copy import keys_copy

_KEY_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
# Lines of an uploaded file imported (and committed with their progress) per transaction.
IMPORT_CHUNK = 5000
_REPORT_LIMIT = 1000  # line numbers kept per kind in the report; the counts are always complete
_KEY_HEADERS = {"key", "product_key", "product key", "productkey", "license key", "licence key"}


def normalise_key(raw: str) -> str | None:
    """A key as the vendor spells it, upper-case without spaces; None when it cannot be a product key."""
    key = re.sub(r"\s+", "", raw or "").upper()
    if not 10 <= len(key) <= 64 or not _KEY_RE.match(key):
        return None
    return key


def key_fingerprint(normalised: str) -> str:
    """The keyed hash of a key's letters and digits only: "ABCDE-FGHIJ" and "ABCDEFGHIJ" are one key."""
    return vault.fingerprint(normalised.replace("-", ""))


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: list[int] = field(default_factory=list)  # line numbers, 1-based
    malformed: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.duplicates) + len(self.malformed)


def keys_import(*, product: Product, lines: Iterable[str], imported_by: Any = None) -> ImportReport:
    """Seal and store new keys for ``product``; skip blank lines, report duplicates and malformed lines.

    Duplicates, in the file or already in the locker for any product, are found by keyed hash, never by
    decrypting. The keys that pass are stored in one transaction; the report says which lines were not.
    """
    return keys_import_numbered(product=product, numbered=enumerate(lines, start=1), imported_by=imported_by)


def keys_import_numbered(
    *, product: Product, numbered: Iterable[tuple[int, str]], imported_by: Any = None
) -> ImportReport:
    """``keys_import`` for lines that carry their own numbers (a chunk of a larger file)."""
    report = ImportReport()
    pending: dict[str, tuple[int, str]] = {}  # fingerprint -> (line number, normalised key)
    for number, raw in numbered:
        if not raw.strip():
            continue
        key = normalise_key(raw)
        if key is None:
            report.malformed.append(number)
            continue
        fp = key_fingerprint(key)
        if fp in pending:
            report.duplicates.append(number)
            continue
        pending[fp] = (number, key)

    for fp in _stored_fingerprints(list(pending)):
        report.duplicates.append(pending.pop(fp)[0])
    report.duplicates.sort()

    now = timezone.now()
    imported_by_id = getattr(imported_by, "pk", None)
    rows: list[tuple[Any, ...]] = []  # in key_copy.COLUMNS order
    for fp, (_number, key) in pending.items():
        record_id = uuid.uuid4()
        sealed = vault.seal(ProductKey.SEAL_KIND, record_id=str(record_id), plaintext=key)
        rows.append(
            (
                record_id,
                product.pk,
                sealed.ciphertext,
                sealed.wrapped_key,
                sealed.master_key_id,
                fp,
                key[-5:],
                ProductKey.Status.AVAILABLE.value,
                now,
                imported_by_id,
            )
        )
    with transaction.atomic():
        keys_copy(rows)
        if rows:
            product_ids = [product.pk]
            transaction.on_commit(lambda: stock_added.send(sender=ProductKey, product_ids=product_ids))
    report.imported = len(rows)
    return report


def _stored_fingerprints(fps: list[str]) -> Iterator[str]:
    """Those of ``fps`` already in the locker, for any product (LOCK-5)."""
    for start in range(0, len(fps), LOOKUP_BATCH):
        chunk = fps[start : start + LOOKUP_BATCH]
        yield from ProductKey.objects.filter(fingerprint__in=chunk).values_list("fingerprint", flat=True)


# --- key files --------------------------------------------------------------------------------------------
def parse_key_file(content: str, filename: str = "") -> list[tuple[int, str]]:
    """(line number, raw key) for each data line of a text file (one key a line) or a CSV file.

    In a CSV file the key is the column headed "key" (or "product key"), else the first column. Each line is
    read on its own, so numbers are the file's line numbers; a line the csv module cannot read (a field over
    its 131,072-character limit) gives a stand-in key, which the import reports as malformed by that number.
    Never raises for any text (ALL-2). A quoted field cannot span lines (a key never holds a line break).
    """
    lines = content.splitlines()
    if not filename.lower().endswith(".csv"):
        return list(enumerate(lines, start=1))
    rows = [_csv_row(line) for line in lines]
    column, start = 0, 0
    if rows and rows[0]:
        header = [cell.strip().lower() for cell in rows[0]]
        for i, cell in enumerate(header):
            if cell in _KEY_HEADERS:
                column, start = i, 1
                break
    return [
        (n + 1, _malformed_line(lines[n]) if row is None else (row[column] if len(row) > column else ""))
        for n, row in enumerate(rows)
        if n >= start
    ]


def _csv_row(line: str) -> list[str] | None:
    """One CSV line's cells, or None when the csv module refuses it."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return None


def _malformed_line(line: str) -> str:
    """A stand-in for a line that cannot be read: never a key, and not blank (blank lines are skipped)."""
    return "?" if line.strip() else ""


# --- bulk import through a worker ------------------------------------------------------------------------
def key_import_create(*, product: Product, uploaded_by: Any, filename: str, content: str) -> KeyImport:
    """Keep an uploaded key file sealed and hand it to a worker; the admin page follows its progress."""
    job = KeyImport(product=product, uploaded_by=uploaded_by, filename=filename[:255])
    vault.seal_into(job, KeyImport.SEAL_KIND, content)
    job.total_lines = len(parse_key_file(content, filename))
    with transaction.atomic():
        job.save()
        enqueue_on_commit("locker.tasks.run_key_import", str(job.pk))
    return job


def key_import_run(*, import_id: uuid.UUID | str) -> KeyImport:
    """Import a sealed upload in chunks, each chunk and its progress committed together.

    A worker that dies mid-way leaves a consistent checkpoint; running the task again continues after
    the last committed chunk. When done the sealed file is destroyed.
    """
    job = KeyImport.objects.select_related("product").get(pk=import_id)
    if job.status in (KeyImport.Status.DONE, KeyImport.Status.FAILED):
        return job
    try:
        content = vault.open_from(job, KeyImport.SEAL_KIND)
    except vault.VaultError as exc:
        return _finish(job, KeyImport.Status.FAILED, error=str(exc)[:300])
    numbered = parse_key_file(content, job.filename)
    del content
    KeyImport.objects.filter(pk=job.pk).update(status=KeyImport.Status.RUNNING, total_lines=len(numbered))
    position = job.processed_lines
    while position < len(numbered):
        chunk = numbered[position : position + IMPORT_CHUNK]
        with transaction.atomic():
            locked = KeyImport.objects.select_for_update().get(pk=job.pk)
            if locked.processed_lines != position:  # another run of the same task got here first
                position = locked.processed_lines
                continue
            report = keys_import_numbered(product=job.product, numbered=chunk, imported_by=job.uploaded_by)
            locked.processed_lines = position + len(chunk)
            locked.imported += report.imported
            locked.duplicates += len(report.duplicates)
            locked.malformed += len(report.malformed)
            locked.duplicate_lines = (locked.duplicate_lines + report.duplicates)[:_REPORT_LIMIT]
            locked.malformed_lines = (locked.malformed_lines + report.malformed)[:_REPORT_LIMIT]
            locked.save(
                update_fields=[
                    "processed_lines",
                    "imported",
                    "duplicates",
                    "malformed",
                    "duplicate_lines",
                    "malformed_lines",
                ]
            )
        position += len(chunk)
    return _finish(job, KeyImport.Status.DONE)


def _finish(job: KeyImport, status: str, *, error: str = "") -> KeyImport:
    """The run ends, done or failed: the sealed file is destroyed either way."""
    fields: dict[str, Any] = {"error": error} if error else {}
    KeyImport.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=timezone.now(),
        payload=b"",
        payload_key=b"",
        payload_master_key_id="",
        **fields,
    )
    job.refresh_from_db()
    return job
