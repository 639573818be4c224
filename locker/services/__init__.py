"""Writes on the locker, by topic: ``imports`` (key files, sealing and storing new keys, the admin's bulk
imports), ``allocation`` (reserving, assigning and moving keys), ``reveal`` (the only code that unseals a
product key) and ``retention`` (destroying key material). Re-encrypting under a new master key is the
vault's (``locker.vault.rewrap_batch``).

Callers import from here (``from locker.services import key_reveal``); a test that replaces a name patches
it in the module that looks it up (``locker.services.imports.IMPORT_CHUNK``).
"""

from __future__ import annotations

from .allocation import KeyConflict, KeysShort, keys_allocate, keys_assign, keys_reassign, keys_reserve
from .imports import (
    _KEY_RE as _KEY_RE,  # the key pattern, for the fuzz tests' generators
)
from .imports import (
    IMPORT_CHUNK,
    ImportReport,
    key_fingerprint,
    key_import_create,
    key_import_run,
    keys_import,
    keys_import_numbered,
    normalise_key,
    parse_key_file,
)
from .retention import keys_purge_expired
from .reveal import Revealed, key_reveal

__all__ = [
    "IMPORT_CHUNK",
    "ImportReport",
    "KeyConflict",
    "KeysShort",
    "Revealed",
    "key_fingerprint",
    "key_import_create",
    "key_import_run",
    "key_reveal",
    "keys_allocate",
    "keys_assign",
    "keys_import",
    "keys_import_numbered",
    "keys_purge_expired",
    "keys_reassign",
    "keys_reserve",
    "normalise_key",
    "parse_key_file",
]
