"""Writes on the locker: import, allocation and reveal. The only code that unseals a product key."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from catalog.models import Product
from core.db import prepared_cursor
from core.tasking import enqueue_on_commit

from . import vault
from .models import KeyEvent, KeyImport, ProductKey, RevealEvent
from .signals import key_first_revealed, stock_added

_KEY_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
_BATCH = 1000
# Keys looked up or updated by one statement, by fingerprint (import) or id (allocation). With 5,000
# PostgreSQL judged a scan of the whole key table cheaper than 5,000 probes of an index, so each statement
# grew with the table (an import lookup: 16 us a key at 400,000 keys); with 1,000 it uses the index
# whatever the table's size (7 us a key).
_LOOKUP_BATCH = 1000


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


class KeyConflict(Exception):
    """Another transaction took a key this one selected; the caller retries."""


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
    rows: list[tuple[Any, ...]] = []  # in _COPY_COLUMNS order; plain tuples, not model instances
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
        _insert_keys(rows)
        if rows:
            product_ids = [product.pk]
            transaction.on_commit(lambda: stock_added.send(sender=ProductKey, product_ids=product_ids))
    report.imported = len(rows)
    return report


def _stored_fingerprints(fps: list[str]) -> Iterator[str]:
    """Those of ``fps`` already in the locker, for any product (LOCK-5)."""
    for start in range(0, len(fps), _LOOKUP_BATCH):
        chunk = fps[start : start + _LOOKUP_BATCH]
        if connection.vendor != "postgresql":
            yield from ProductKey.objects.filter(fingerprint__in=chunk).values_list("fingerprint", flat=True)
            continue
        # One array parameter instead of 1,000 literals for Django to compile and PostgreSQL to parse.
        with prepared_cursor() as cursor:
            cursor.execute(
                f"SELECT fingerprint FROM {ProductKey._meta.db_table} WHERE fingerprint = ANY(%s)",  # noqa: S608
                [chunk],
            )
            yield from (row[0] for row in cursor.fetchall())


class KeysShort(Exception):
    """Fewer keys could be taken than asked for; ``got`` is how many were free for this transaction."""

    def __init__(self, got: int) -> None:
        super().__init__(f"only {got} keys free")
        self.got = got


_COPY_COLUMNS = (
    "id",
    "product_id",
    "ciphertext",
    "wrapped_key",
    "master_key_id",
    "fingerprint",
    "last5",
    "status",
    "imported_at",
    "imported_by_id",
)


def _insert_keys(rows: list[tuple[Any, ...]]) -> None:
    """Store new keys (tuples in _COPY_COLUMNS order): PostgreSQL's COPY where available (an order of
    magnitude faster than INSERTs for a 100,000-key import), bulk INSERTs elsewhere. Runs inside the
    caller's transaction."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or len(rows) < 200:
        ProductKey.objects.bulk_create(
            [ProductKey(**dict(zip(_COPY_COLUMNS, row, strict=True))) for row in rows], batch_size=_BATCH
        )
        return
    table = ProductKey._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor behind Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def keys_allocate(*, product_id: int, quantity: int, owner: Any) -> list[uuid.UUID]:
    """Give ``quantity`` available keys of a product to ``owner``; raise KeysShort (taking nothing) if short.

    Must run inside the caller's transaction (see ``keys_reserve`` and ``keys_assign``).
    """
    ids = keys_reserve(product_id=product_id, quantity=quantity)
    if len(ids) < quantity:
        raise KeysShort(len(ids))
    keys_assign({owner.pk: ids})
    return ids


def keys_reserve(*, product_id: int, quantity: int) -> list[uuid.UUID]:
    """Lock up to ``quantity`` available keys of a product, oldest first, until the caller's transaction ends.

    Rows are locked with SKIP LOCKED, so concurrent fulfilments never wait on each other's keys and never
    take the same key (ESD-4). Keys the caller does not assign stay available when its transaction ends.
    """
    assert transaction.get_connection().in_atomic_block, "keys_reserve needs the caller's transaction"
    return list(
        ProductKey.objects.available()
        .filter(product_id=product_id)
        .order_by("imported_at", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:quantity]
    )


def keys_assign(key_ids_by_owner: dict[Any, list[uuid.UUID]]) -> None:
    """Give reserved keys to their owners in one UPDATE, whoever the owners are (one per order of a batch).

    The conditional update double-checks availability on databases without row locks (SQLite): if another
    transaction took one of the keys, KeyConflict is raised and the caller's transaction must roll back.
    """

    assert transaction.get_connection().in_atomic_block, "keys_assign needs the caller's transaction"
    owner_of = {key_id: owner for owner, ids in key_ids_by_owner.items() for key_id in ids}
    all_ids = list(owner_of)
    if len(all_ids) != sum(len(ids) for ids in key_ids_by_owner.values()):
        raise KeyConflict  # one key for two owners
    if not all_ids:
        return
    taken, now = 0, timezone.now()
    for start in range(0, len(all_ids), _LOOKUP_BATCH):
        chunk = all_ids[start : start + _LOOKUP_BATCH]
        owners = {owner_of[key_id] for key_id in chunk}
        if len(owners) == 1:
            owner: Any = next(iter(owners))
        else:  # one CASE for the owners of this chunk's keys only
            by_owner: dict[Any, list[uuid.UUID]] = {}
            for key_id in chunk:
                by_owner.setdefault(owner_of[key_id], []).append(key_id)
            owner = Case(*(When(id__in=ids, then=Value(pk)) for pk, ids in by_owner.items()))
        taken += ProductKey.objects.filter(id__in=chunk, status=ProductKey.Status.AVAILABLE).update(
            status=ProductKey.Status.ALLOCATED, owner_id=owner, allocated_at=now
        )
    if taken != len(all_ids):
        raise KeyConflict


@dataclass(frozen=True)
class Revealed:
    key: ProductKey
    plaintext: str

    def __repr__(self) -> str:  # never let a traceback or log print the key
        return f"Revealed(key={self.key.pk}, plaintext=<hidden>)"


@sensitive_variables("plaintext")
@transaction.atomic
def key_reveal(*, key_id: uuid.UUID | str, user: Any, ip: str | None, user_agent: str) -> Revealed:
    """Unseal a key for its owner and record the reveal in the same transaction (LOCK-4, ESD-8).

    Raises ``ProductKey.DoesNotExist`` for anyone but the owner, so a guessed id learns nothing.
    """
    key = (
        ProductKey.objects.revealable_by(user)
        .select_for_update(of=("self",), no_key=True)
        .select_related("product")
        .get(pk=key_id)
    )
    now = timezone.now()
    RevealEvent.objects.create(key=key, user=user, at=now, ip=ip or None, user_agent=(user_agent or "")[:400])
    if key.revealed_at is None:
        key.revealed_at = now
        key.status = ProductKey.Status.REVEALED
        key.save(update_fields=["revealed_at", "status"])
        key_id_ = key.pk
        transaction.on_commit(
            lambda: key_first_revealed.send(sender=ProductKey, key_id=key_id_, at=now), robust=True
        )
    plaintext = vault.open_from(key, ProductKey.SEAL_KIND)
    return Revealed(key=key, plaintext=plaintext)


# --- moving keys (ESD-14) ---------------------------------------------------------------------------------
def keys_reassign(*, key_ids: Sequence[uuid.UUID], new_owner: Any, actor: Any, data: dict[str, Any]) -> int:
    """Move delivered keys to another locker account and record it per key. Caller holds the row locks."""
    now = timezone.now()
    moved = ProductKey.objects.filter(id__in=key_ids, status__in=ProductKey.DELIVERED).update(owner=new_owner)
    KeyEvent.objects.bulk_create(
        [KeyEvent(key_id=k, kind=KeyEvent.Kind.REASSIGNED, actor=actor, at=now, data=data) for k in key_ids],
        batch_size=_BATCH,
    )
    return moved


# --- retention (ESD-11) ---------------------------------------------------------------------------------
def keys_purge_expired(*, now: Any = None, batch_size: int = _BATCH) -> int:
    """Destroy the key material of keys delivered more than LOCKER_RETENTION_DAYS ago.

    The record stays: product, owner, delivery and reveal history; only the sealed bytes go. Batched, each
    batch in its own transaction, rows taken with SKIP LOCKED so a reveal in progress is never blocked.
    """

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LOCKER_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                ProductKey.objects.filter(status__in=ProductKey.DELIVERED, allocated_at__lt=cutoff)
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return total
            ProductKey.objects.filter(id__in=ids).update(
                status=ProductKey.Status.PURGED,
                purged_at=now,
                ciphertext=b"",
                wrapped_key=b"",
                master_key_id="",
            )
            KeyEvent.objects.bulk_create(
                [KeyEvent(key_id=k, kind=KeyEvent.Kind.PURGED, at=now) for k in ids], batch_size=_BATCH
            )
        total += len(ids)


# --- bulk import through a worker (LOCK-5) ------------------------------------------------------------
IMPORT_CHUNK = 5000
_REPORT_LIMIT = 1000  # line numbers kept per kind in the report; the counts are always complete
_KEY_HEADERS = {"key", "product_key", "product key", "productkey", "license key", "licence key"}


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
        KeyImport.objects.filter(pk=job.pk).update(
            status=KeyImport.Status.FAILED,
            error=str(exc)[:300],
            finished_at=timezone.now(),
            payload=b"",
            payload_key=b"",
            payload_master_key_id="",
        )
        job.refresh_from_db()
        return job
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
    KeyImport.objects.filter(pk=job.pk).update(
        status=KeyImport.Status.DONE,
        finished_at=timezone.now(),
        payload=b"",
        payload_key=b"",
        payload_master_key_id="",
    )
    job.refresh_from_db()
    return job
