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
    assert conf.workers == conf._cpus() + 1  # type: ignore[attr-defined]
    assert conf._cpus() <= len(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    assert conf.worker_class == "sync"  # type: ignore[attr-defined]
    assert (conf.bind, conf.timeout) == ("0.0.0.0:8000", 30)  # type: ignore[attr-defined]


def test_the_environment_sets_workers_bind_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _load(monkeypatch, WEB_CONCURRENCY="7", WEB_BIND="127.0.0.1:9000", WEB_TIMEOUT="60")
    assert (conf.workers, conf.bind, conf.timeout) == (7, "127.0.0.1:9000", 60)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("200000 100000\n", 2),
        ("150000 100000\n", 2),
        ("50000 100000\n", 1),
        ("max 100000\n", None),
        ("", None),
    ],
)
def test_a_containers_cpu_quota_caps_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, cpu_max: str, expected: int | None
) -> None:
    """``docker --cpus=2`` on a large host: 3 workers, not one per host CPU."""
    from pathlib import Path

    conf = _load(monkeypatch)
    path = Path(str(tmp_path)) / "cpu.max"
    path.write_text(cpu_max)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert conf._cpus(path) == (expected if expected is not None else 64)  # type: ignore[attr-defined]
