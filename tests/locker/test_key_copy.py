"""locker.services.key_copy, the locker's one piece of hand-written SQL: new keys stored with PostgreSQL's
COPY (LOCK-5 imports), row for row what ``bulk_create`` stores, inside the caller's transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from locker.models import ProductKey
from locker.services import key_reveal, keys_allocate, keys_import
from locker.services.key_copy import COLUMNS, keys_copy
from tests.factories import make_product, random_key


def _stored(product):
    return {
        row[0]: row
        for row in ProductKey.objects.filter(product=product).values_list(*COLUMNS).order_by("imported_at")
    }


def _inserts(captured):
    return [q for q in captured.captured_queries if q["sql"].startswith("INSERT INTO")]


@pytest.mark.django_db
def test_lock5_copy_stores_what_bulk_create_stores(staff):
    """A batch large enough for COPY (no INSERT statement at all) and a small one that goes through
    bulk_create end up as the same rows: every column, the sealed bytes included, as given."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    copied, inserted = make_product(), make_product()

    def rows(product, n):
        made = []
        for _ in range(n):
            key = ProductKey(product=product, imported_by=staff)
            made.append(
                (
                    key.id,
                    product.pk,
                    bytes(range(256)) + b"\x00\x01",  # every byte value survives COPY's text escaping
                    b"\\wrapped\x00\n\t",
                    "mk1",
                    random_key(),
                    "ABCDE",
                    ProductKey.Status.AVAILABLE.value,
                    key.imported_at,
                    staff.pk,
                )
            )
        return made

    many, few = rows(copied, 250), rows(inserted, 20)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        keys_copy(many)
    assert _inserts(captured) == []
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        keys_copy(few)
    assert len(_inserts(captured)) == 1
    for product, expected in ((copied, many), (inserted, few)):
        stored = _stored(product)
        assert len(stored) == len(expected)
        for row in expected:
            got = stored[row[0]]
            assert got[:2] == row[:2] and bytes(got[2]) == row[2] and bytes(got[3]) == row[3]
            assert got[4:] == row[4:]


@pytest.mark.django_db
def test_lock5_copy_belongs_to_the_callers_transaction():
    """Keys copied in a transaction that then fails are not stored (an import chunk is all or nothing)."""
    product = make_product()
    with pytest.raises(RuntimeError), transaction.atomic():
        keys_import(product=product, lines=[random_key() for _ in range(300)])
        assert ProductKey.objects.filter(product=product).count() == 300
        raise RuntimeError
    assert not ProductKey.objects.filter(product=product).exists()


@pytest.mark.django_db
def test_lock1_keys_imported_by_copy_open_for_their_owner(end_customer):
    """LOCK-1/LOCK-2: a key stored by COPY is sealed to its own record and opens for the owner as given."""
    product = make_product()
    keys = [random_key() for _ in range(300)]
    assert keys_import(product=product, lines=keys).imported == 300
    with transaction.atomic():
        taken = keys_allocate(product_id=product.pk, quantity=3, owner=end_customer)
    shown = {key_reveal(key_id=k, user=end_customer, ip=None, user_agent="").plaintext for k in taken}
    assert len(shown) == 3 and shown <= set(keys)
