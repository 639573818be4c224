import base64
import os
import subprocess

import pytest
from django.db import connection

from locker import crypto
from locker.models import ProductKey
from locker.services import key_reveal, keys_allocate, keys_import, normalise_key
from tests.factories import make_product, random_key, stock


def test_lock1_seal_round_trip_and_ciphertext_differs_each_time():
    """LOCK-1: authenticated encryption, fresh data key and nonce per seal."""
    a = crypto.seal(kind="productkey", record_id="r1", plaintext="ABCDE-12345-FGHIJ-67890-KLMNO")
    b = crypto.seal(kind="productkey", record_id="r1", plaintext="ABCDE-12345-FGHIJ-67890-KLMNO")
    assert a.ciphertext != b.ciphertext and a.wrapped_key != b.wrapped_key
    assert b"ABCDE" not in a.ciphertext
    assert (
        crypto.unseal(
            kind="productkey",
            record_id="r1",
            ciphertext=a.ciphertext,
            wrapped_key=a.wrapped_key,
            master_key_id=a.master_key_id,
        )
        == "ABCDE-12345-FGHIJ-67890-KLMNO"
    )


def test_lock1_tampered_ciphertext_does_not_decrypt():
    sealed = crypto.seal(kind="productkey", record_id="r1", plaintext="ABCDE-12345-FGHIJ-67890-KLMNO")
    broken = bytearray(sealed.ciphertext)
    broken[-1] ^= 1
    with pytest.raises(crypto.TamperedRecord) as exc:
        crypto.unseal(
            kind="productkey",
            record_id="r1",
            ciphertext=bytes(broken),
            wrapped_key=sealed.wrapped_key,
            master_key_id=sealed.master_key_id,
        )
    assert "ABCDE" not in str(exc.value)


@pytest.mark.django_db
def test_lock2_ciphertext_copied_to_another_record_does_not_decrypt(end_customer):
    """LOCK-2: a key's sealed bytes moved onto another row fail authentication instead of decrypting."""
    product = make_product()
    stock(product, 2)
    first, second = ProductKey.objects.filter(product=product).order_by("id")
    second_original = crypto.unseal(
        kind=ProductKey.SEAL_KIND,
        record_id=str(second.pk),
        ciphertext=second.ciphertext,
        wrapped_key=second.wrapped_key,
        master_key_id=second.master_key_id,
    )
    ProductKey.objects.filter(pk=second.pk).update(ciphertext=first.ciphertext, wrapped_key=first.wrapped_key)
    second.refresh_from_db()
    with pytest.raises(crypto.TamperedRecord):
        crypto.unseal(
            kind=ProductKey.SEAL_KIND,
            record_id=str(second.pk),
            ciphertext=second.ciphertext,
            wrapped_key=second.wrapped_key,
            master_key_id=second.master_key_id,
        )
    # Through the service as the owner, too: the swap is refused, never shows the other customer's key.
    from django.db import transaction

    with transaction.atomic():
        keys_allocate(product_id=product.pk, quantity=2, owner=end_customer)
    with pytest.raises(crypto.TamperedRecord):
        key_reveal(key_id=second.pk, user=end_customer, ip="127.0.0.1", user_agent="test")
    assert second_original != crypto.unseal(
        kind=ProductKey.SEAL_KIND,
        record_id=str(first.pk),
        ciphertext=first.ciphertext,
        wrapped_key=first.wrapped_key,
        master_key_id=first.master_key_id,
    )


def test_lock3_unknown_master_key_is_refused(settings):
    """LOCK-3: keys come from configuration; a record sealed under a key no longer configured cannot open."""
    sealed = crypto.seal(kind="productkey", record_id="r1", plaintext="ABCDE-12345-FGHIJ-67890-KLMNO")
    settings.LOCKER_MASTER_KEYS = [base64.b64encode(os.urandom(32)).decode()]
    with pytest.raises(crypto.UnknownMasterKey):
        crypto.unseal(
            kind="productkey",
            record_id="r1",
            ciphertext=sealed.ciphertext,
            wrapped_key=sealed.wrapped_key,
            master_key_id=sealed.master_key_id,
        )


def test_lock3_old_master_key_still_decrypts_after_a_new_one_is_added(settings):
    """LOCK-3: a new first key encrypts; the old one, listed after it, keeps decrypting."""
    old = settings.LOCKER_MASTER_KEYS[0]
    sealed = crypto.seal(kind="productkey", record_id="r1", plaintext="ABCDE-12345-FGHIJ-67890-KLMNO")
    settings.LOCKER_MASTER_KEYS = [base64.b64encode(os.urandom(32)).decode(), old]
    assert crypto.current_master_key_id() != sealed.master_key_id
    assert crypto.unseal(
        kind="productkey",
        record_id="r1",
        ciphertext=sealed.ciphertext,
        wrapped_key=sealed.wrapped_key,
        master_key_id=sealed.master_key_id,
    ).startswith("ABCDE")


def _dump_database() -> str:
    if connection.vendor == "postgresql":
        d = connection.settings_dict
        env = dict(os.environ, PGPASSWORD=d.get("PASSWORD") or "")
        out = subprocess.run(
            [
                "pg_dump",
                "-h",
                d.get("HOST") or "127.0.0.1",
                "-p",
                str(d.get("PORT") or 5432),
                "-U",
                d.get("USER") or "postgres",
                "--data-only",
                d["NAME"],
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        return out.stdout.decode("utf-8", errors="replace")
    connection.ensure_connection()
    return "\n".join(connection.connection.iterdump())


@pytest.mark.django_db(transaction=True)
def test_lock1_database_dump_holds_no_key():
    """LOCK-1: a full dump of the database holds no key, in plain text or in a reversible encoding."""
    product = make_product()
    keys = stock(product, 20)
    dump = _dump_database()
    assert "productkey" in dump.lower()
    for key in keys:
        compact = key.replace("-", "")
        forms = [
            key,
            compact,
            key.lower(),
            base64.b64encode(key.encode()).decode(),
            base64.b64encode(compact.encode()).decode(),
            key.encode().hex(),
            compact.encode().hex(),
        ]
        for form in forms:
            assert form not in dump, "a key, or a reversible encoding of it, is in the dump"
        # Everything but the last five characters the admin masks with (ESD-8).
        assert key[:-5] not in dump


@pytest.mark.django_db
def test_lock5_import_rejects_duplicates_by_keyed_hash_without_decrypting(monkeypatch):
    """LOCK-5: duplicates in the file and already in the locker are rejected with line numbers."""
    product = make_product()
    existing = stock(product, 3)
    fresh = random_key()

    def no_decrypt(*args, **kwargs):
        raise AssertionError("import must not decrypt")

    monkeypatch.setattr(crypto, "unseal", no_decrypt)
    lines = [fresh, existing[1].lower(), "", "not a key!", fresh, "  " + existing[0] + "  "]
    report = keys_import(product=make_product(), lines=lines)
    assert report.imported == 1
    assert report.duplicates == [2, 5, 6]
    assert report.malformed == [4]
    assert ProductKey.objects.count() == 4


@pytest.mark.django_db
def test_lock5_duplicates_of_stored_keys_are_found_across_lookup_batches():
    """LOCK-5: an import larger than one fingerprint lookup (1,000) finds every stored duplicate, for
    any product, wherever it falls in the file."""
    stored = [random_key() for _ in range(2_300)]
    assert keys_import(product=make_product(), lines=stored).imported == 2_300
    fresh = [random_key() for _ in range(700)]
    # The stored keys again, in lower case, with a new key after every third one.
    lines: list[str] = []
    for i, key in enumerate(stored):
        lines.append(key.lower())
        if i % 3 == 2 and fresh:
            lines.append(fresh.pop())
    lines += fresh
    report = keys_import(product=make_product(), lines=lines)
    assert (report.imported, len(report.duplicates), report.malformed) == (700, 2_300, [])
    known = set(stored)
    assert report.duplicates == [n for n, line in enumerate(lines, start=1) if line.upper() in known]
    assert ProductKey.objects.count() == 3_000


def test_lock5_normalise_key():
    assert normalise_key(" abcde-12345-fghij ") == "ABCDE-12345-FGHIJ"
    assert normalise_key("short") is None
    assert normalise_key("ABCDE_12345_FGHIJ") is None
    assert normalise_key("") is None


@pytest.mark.django_db
def test_esd8_staff_see_only_the_last_five_characters():
    product = make_product()
    key = stock(product, 1)[0]
    record = ProductKey.objects.get()
    assert record.masked.endswith(key[-5:])
    assert key[:-5] not in record.masked


@pytest.mark.django_db
def test_lock5_same_key_with_or_without_dashes_is_one_key():
    """LOCK-5, ESD-4: spacing and dashes do not make a key new, so it can never go to two customers."""
    product = make_product()
    key = random_key()
    assert keys_import(product=product, lines=[key]).imported == 1
    variants = [key.replace("-", ""), key.replace("-", " "), key.lower().replace("-", "  ")]
    report = keys_import(product=product, lines=variants)
    assert report.imported == 0 and report.duplicates == [1, 2, 3]
