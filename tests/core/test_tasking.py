"""``core.tasking``: a wake-up waiting in the queue stands for every commit after it, and never for longer
than its mark lasts; a broker or cache that fails costs a task too many, never one too few (ALL-5)."""

import time
import uuid

import pytest
from django.core.cache import cache

from core import tasking
from core.kept import shared

TASK = "orders.tasks.fulfil_placed"


@pytest.fixture
def sent(monkeypatch):
    """The wake-ups sent (the task's ``delay``, recorded instead of queued), and a mark of this test's own."""
    assert shared(), "CACHE_URL must name Redis for these tests"
    from orders.tasks import fulfil_placed

    calls: list[int] = []
    monkeypatch.setattr(fulfil_placed, "delay", lambda: calls.append(1))
    return calls, f"t.{uuid.uuid4().hex}"


def _commit(capture, key, timeout=30):
    with capture(execute=True):
        tasking.enqueue_coalesced_on_commit(TASK, key=key, timeout=timeout)


@pytest.mark.django_db
def test_all5_one_wakeup_waits_for_many_commits_and_the_next_is_sent_once_it_started(
    sent, django_capture_on_commit_callbacks
):
    calls, key = sent
    with django_capture_on_commit_callbacks(execute=False):
        tasking.enqueue_coalesced_on_commit(TASK, key=key, timeout=30)
    assert calls == []  # nothing before the commit
    for _ in range(5):
        _commit(django_capture_on_commit_callbacks, key)
    assert len(calls) == 1
    tasking.coalesced_started(key)  # the task started: what commits now is after its read
    _commit(django_capture_on_commit_callbacks, key)
    _commit(django_capture_on_commit_callbacks, key)
    assert len(calls) == 2
    tasking.enqueue_coalesced(TASK, key=key, timeout=30)  # sent at once, under the same mark
    assert len(calls) == 2


@pytest.mark.django_db
def test_all5_a_lost_wakeup_stands_for_later_commits_only_until_its_mark_lapses(
    sent, django_capture_on_commit_callbacks
):
    calls, key = sent
    _commit(django_capture_on_commit_callbacks, key, timeout=1)
    _commit(django_capture_on_commit_callbacks, key, timeout=1)
    assert len(calls) == 1
    time.sleep(1.2)
    _commit(django_capture_on_commit_callbacks, key, timeout=1)
    assert len(calls) == 2


@pytest.mark.django_db
def test_all5_a_wakeup_the_broker_refused_leaves_no_mark(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    calls, key = sent
    from orders.tasks import fulfil_placed

    def down():
        calls.append(0)
        raise ConnectionError("broker down")

    monkeypatch.setattr(fulfil_placed, "delay", down)
    _commit(django_capture_on_commit_callbacks, key)  # logged and swallowed: the sweeper recovers
    monkeypatch.setattr(fulfil_placed, "delay", lambda: calls.append(1))
    _commit(django_capture_on_commit_callbacks, key)
    assert calls == [0, 1]
    assert cache.get(tasking._pending_key(key)) == 1  # the one that went out holds the mark


@pytest.mark.django_db
def test_all5_an_unreachable_cache_or_one_not_shared_sends_every_wakeup(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    calls, key = sent

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    with monkeypatch.context() as m:
        m.setattr(cache, "add", unreachable)
        _commit(django_capture_on_commit_callbacks, key)
        _commit(django_capture_on_commit_callbacks, key)
    assert len(calls) == 2
    with monkeypatch.context() as m:
        m.setattr(tasking, "shared", lambda: False)  # a per-process cache: a mark no worker could clear
        _commit(django_capture_on_commit_callbacks, key)
        _commit(django_capture_on_commit_callbacks, key)
    assert len(calls) == 4
