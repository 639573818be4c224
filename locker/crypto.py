"""Envelope encryption for the Digital Locker (LOCK-1, LOCK-2, LOCK-3, LOCK-5).

Each secret gets its own random 256-bit data key. The secret is sealed with AES-256-GCM under that
data key, and the data key is sealed (wrapped) with AES-256-GCM under a master key from configuration.
Both seals carry the record's identity as associated data, so a ciphertext copied onto another row
fails authentication instead of decrypting (LOCK-2). Master keys are named by a short fingerprint
(``kid``) so that old keys keep decrypting until everything is re-wrapped under the first one (LOCK-3).

This module, and only this app, ever sees plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

NONCE_BYTES = 12
_FORMAT = b"locker.v1"


class LockerCryptoError(Exception):
    """A record could not be opened. The message never includes any secret material."""


class UnknownMasterKey(LockerCryptoError):
    pass


class TamperedRecord(LockerCryptoError):
    pass


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    wrapped_key: bytes
    master_key_id: str


def key_id(master_key: bytes) -> str:
    return hashlib.sha256(b"locker-kid:" + master_key).hexdigest()[:16]


def _decode(value: str) -> bytes:
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 32:
        raise LockerCryptoError("A locker key must be 32 bytes.")
    return raw


def master_keys() -> list[tuple[str, bytes]]:
    """(kid, key) for every configured master key, the encrypting one first."""
    keys = [_decode(v) for v in settings.LOCKER_MASTER_KEYS]
    if not keys:
        raise LockerCryptoError("No locker master key is configured (LOCKER_MASTER_KEYS).")
    return [(key_id(k), k) for k in keys]


def current_master_key_id() -> str:
    return master_keys()[0][0]


def _aad(kind: bytes, record_id: str) -> bytes:
    return b"|".join([_FORMAT, kind, record_id.encode()])


def seal(*, kind: str, record_id: str, plaintext: str) -> Sealed:
    """Encrypt ``plaintext`` for the record ``kind``/``record_id`` under the current master key."""
    kid, master = master_keys()[0]
    data_key = AESGCM.generate_key(bit_length=256)
    n1, n2 = os.urandom(NONCE_BYTES), os.urandom(NONCE_BYTES)
    ciphertext = n1 + AESGCM(data_key).encrypt(
        n1, plaintext.encode(), _aad(kind.encode() + b":data", record_id)
    )
    wrapped = n2 + AESGCM(master).encrypt(n2, data_key, _aad(kind.encode() + b":key", record_id))
    return Sealed(ciphertext=ciphertext, wrapped_key=wrapped, master_key_id=kid)


def _unwrap(kind: str, record_id: str, wrapped_key: bytes | memoryview, master_key_id: str) -> bytes:
    by_id = dict(master_keys())
    master = by_id.get(master_key_id)
    if master is None:
        raise UnknownMasterKey(f"Master key {master_key_id} is not configured.")
    wrapped_key = bytes(wrapped_key)
    try:
        return AESGCM(master).decrypt(
            wrapped_key[:NONCE_BYTES], wrapped_key[NONCE_BYTES:], _aad(kind.encode() + b":key", record_id)
        )
    except InvalidTag:
        raise TamperedRecord(f"The data key of {kind} {record_id} does not authenticate.") from None


def unseal(
    *,
    kind: str,
    record_id: str,
    ciphertext: bytes | memoryview,
    wrapped_key: bytes | memoryview,
    master_key_id: str,
) -> str:
    data_key = _unwrap(kind, record_id, wrapped_key, master_key_id)
    ciphertext = bytes(ciphertext)
    try:
        plain = AESGCM(data_key).decrypt(
            ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], _aad(kind.encode() + b":data", record_id)
        )
    except InvalidTag:
        raise TamperedRecord(f"The ciphertext of {kind} {record_id} does not authenticate.") from None
    return plain.decode()


def rewrap(
    *, kind: str, record_id: str, wrapped_key: bytes | memoryview, master_key_id: str
) -> tuple[bytes, str]:
    """Wrap a record's data key under the current master key; the ciphertext itself is untouched."""
    data_key = _unwrap(kind, record_id, wrapped_key, master_key_id)
    kid, master = master_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _aad(kind.encode() + b":key", record_id)), kid


def fingerprint(normalised_secret: str) -> str:
    """Keyed hash used to find a duplicate without decrypting anything (LOCK-5)."""
    key = base64.b64decode(settings.LOCKER_HASH_KEY)
    return hmac.new(key, normalised_secret.encode(), hashlib.sha256).hexdigest()
