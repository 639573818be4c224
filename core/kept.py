"""Answers kept in the shared cache until something they were read from changes.

An answer is kept under the *tokens* of what it depends on (a person's memberships, an owner's keys, the
catalogue). Every write that changes one of those replaces its token (``replace_tokens``), so answers kept
before the write are never served again; nothing is deleted or scanned. The tokens are read before the
database, so an answer read just before a write is stored under the token that write replaced. Tokens are
replaced at once and again when the surrounding transaction commits: a request that read the database
between the two would otherwise keep what it read. A ``guard`` value (an account's creation time) is
stored with the answer, so an entry cannot outlive its subject into another with the same id (a database
rebuilt under a kept cache).

Only a cache every process shares (Redis) keeps anything: a per-process one (development's default) would
miss the writes of other processes, a management command's or a worker's.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def shared() -> bool:
    """Whether every process sees the same cache."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith((".LocMemCache", ".DummyCache"))


def kept(*, key: str, tokens: Sequence[str], read: Callable[[], T], timeout: int, guard: Any = None) -> T:
    """``read()``'s answer, from the cache under ``key`` while none of ``tokens`` was replaced and the
    ``guard`` is the same; else read, and kept for ``timeout`` seconds at most."""
    if not shared():
        return read()
    found = cache.get_many([*tokens, key])
    current = [found.get(token) for token in tokens]
    entry = found.get(key)
    if None not in current and entry is not None and entry[0] == current and entry[1] == guard:
        return entry[2]  # type: ignore[no-any-return]
    for i, token_key in enumerate(tokens):
        if current[i] is None:
            token = secrets.token_hex(8)
            current[i] = token if cache.add(token_key, token, timeout=None) else cache.get(token_key)
    answer = read()
    if None not in current:
        cache.set(key, (current, guard, answer), timeout=timeout)
    return answer


def replace_tokens(tokens: Iterable[str]) -> None:
    """Make every answer kept under these tokens stale, now and when the surrounding transaction commits.
    Call it after the write: outside a transaction both happen at once."""
    keys = sorted(set(tokens))
    if not keys or not shared():
        return

    def replace() -> None:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)

    replace()
    transaction.on_commit(replace)
