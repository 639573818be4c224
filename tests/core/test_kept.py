"""``core.kept``: answers kept in the shared cache under tokens that writes replace (ALL-1: an answer is
never served for another subject or after the write that changed it)."""

import uuid

import pytest
from django.core.cache import cache

from core.kept import kept, replace_tokens, shared


@pytest.fixture
def names():
    assert shared(), "CACHE_URL must name Redis for these tests"
    run = uuid.uuid4().hex
    return f"t.{run}.token", f"t.{run}.all", f"t.{run}.entry"


def _counting(answer):
    calls = []

    def read():
        calls.append(1)
        return answer

    return read, calls


@pytest.mark.django_db
def test_all1_kept_until_any_of_its_tokens_is_replaced(names):
    token, every, entry = names
    read, calls = _counting({"rows": [1, 2]})
    for _ in range(3):
        assert kept(key=entry, tokens=[token, every], read=read, timeout=60) == {"rows": [1, 2]}
    assert len(calls) == 1
    replace_tokens([token])
    kept(key=entry, tokens=[token, every], read=read, timeout=60)
    replace_tokens([every])
    kept(key=entry, tokens=[token, every], read=read, timeout=60)
    assert len(calls) == 3


@pytest.mark.django_db
def test_all1_another_guard_reads_again(names):
    token, _, entry = names
    read, calls = _counting("answer")
    kept(key=entry, tokens=[token], read=read, timeout=60, guard="joined at one time")
    kept(key=entry, tokens=[token], read=read, timeout=60, guard="joined at another")
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_all1_what_was_read_between_a_write_and_its_commit_is_not_served_after_the_commit(names):
    from django.db import transaction

    token, _, entry = names
    kept(key=entry, tokens=[token], read=lambda: "before", timeout=60)
    with transaction.atomic():
        replace_tokens([token])  # after the write, inside its transaction
        # Another request reads the database (still the old answer) and keeps it under the new token.
        assert kept(key=entry, tokens=[token], read=lambda: "before", timeout=60) == "before"
    assert kept(key=entry, tokens=[token], read=lambda: "after", timeout=60) == "after"


def test_all1_a_cache_of_one_process_keeps_nothing(settings, names):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    read, calls = _counting(1)
    kept(key=names[2], tokens=[names[0]], read=read, timeout=60)
    kept(key=names[2], tokens=[names[0]], read=read, timeout=60)
    assert len(calls) == 2 and cache.get(names[0]) is None
