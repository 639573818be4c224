"""The web processes' gunicorn settings (portal/gunicorn_conf.py), used by the image, compose and the bench."""

from __future__ import annotations

import importlib
import os

import pytest


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for name in ("WEB_CONCURRENCY", "WEB_BIND", "WEB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import portal.gunicorn_conf as conf

    return importlib.reload(conf)


def test_one_sync_worker_per_cpu_plus_one_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch)
    assert conf.workers == len(os.sched_getaffinity(0)) + 1  # type: ignore[attr-defined]
    assert conf.worker_class == "sync"  # type: ignore[attr-defined]
    assert (conf.bind, conf.timeout) == ("0.0.0.0:8000", 30)  # type: ignore[attr-defined]


def test_the_environment_sets_workers_bind_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch, WEB_CONCURRENCY="7", WEB_BIND="127.0.0.1:9000", WEB_TIMEOUT="60")
    assert (conf.workers, conf.bind, conf.timeout) == (7, "127.0.0.1:9000", 60)  # type: ignore[attr-defined]
