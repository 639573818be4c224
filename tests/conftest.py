from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import translation

from accounts.models import Organisation
from portal.celery import app as celery_app

from .factories import login_staff_with_mfa, make_org, make_product, make_user

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


# --- services gating -------------------------------------------------------------------------------
def _on_postgres() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _missing_services(need_browser: bool = False) -> list[str]:
    missing = []
    if not _on_postgres():
        missing.append("DATABASE_URL does not point at PostgreSQL")
    if not django_settings.BROKER_CONFIGURED or not django_settings.CELERY_BROKER_URL.startswith("redis"):
        missing.append("CELERY_BROKER_URL does not point at Redis")
    if need_browser and not Path(CHROMIUM).exists():
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return missing


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        needs_pg = item.get_closest_marker("postgres") is not None
        services = item.get_closest_marker("services") is not None
        browser = item.get_closest_marker("browser") is not None
        if not (needs_pg or services or browser):
            continue
        missing = (
            _missing_services(need_browser=browser)
            if (services or browser)
            else ([] if _on_postgres() else ["DATABASE_URL does not point at PostgreSQL"])
        )
        if not missing:
            continue
        reason = "; ".join(missing)
        if REQUIRE_SERVICES:
            # CI must prove the journey on real services: a skip there would hide exactly that.
            raise pytest.UsageError(f"REQUIRE_SERVICES=1 but {reason} (needed by {item.nodeid})")
        item.add_marker(pytest.mark.skip(reason=reason))


# --- defaults for every test -------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest) -> Iterator[None]:
    """Ordinary tests run tasks in-process (still after commit); `services` tests use a real worker."""
    if request.node.get_closest_marker("services") or request.node.get_closest_marker("browser"):
        yield
        return
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture(autouse=True)
def _no_vendor_by_default(settings: Any) -> None:
    """Stock comes only from imports unless a test turns the simulated vendor on (ESD-4 tests do)."""
    settings.VENDOR_GATEWAY = "none"


@pytest.fixture(autouse=True)
def _no_rate_limits(request: pytest.FixtureRequest, settings: Any) -> None:
    """Rate limits are proved by the tests marked `ratelimits`; elsewhere they would only add noise. A
    marked test counts under a cache prefix of its own: the counters live in Redis, which outlasts the
    test database, and a second run (the same user ids again) would otherwise start past its limits."""
    if not request.node.get_closest_marker("ratelimits"):
        settings.ACCOUNT_RATE_LIMITS = False
        return
    default = settings.CACHES["default"]
    settings.CACHES = {
        **settings.CACHES,
        "default": {**default, "KEY_PREFIX": f"{default.get('KEY_PREFIX', '')}t{uuid.uuid4().hex[:12]}"},
    }


# --- actors ----------------------------------------------------------------------------------------
@pytest.fixture
def reseller_org(db: None) -> Organisation:
    return make_org(Organisation.Kind.RESELLER, "Reseller One")


@pytest.fixture
def reseller(reseller_org: Organisation) -> Any:
    return make_user(reseller_org, email="buyer@reseller-one.test")


@pytest.fixture
def other_reseller(db: None) -> Any:
    return make_user(make_org(Organisation.Kind.RESELLER, "Reseller Two"), email="buyer@reseller-two.test")


@pytest.fixture
def end_customer(db: None) -> Any:
    return make_user(None, email="customer@end.test", password=None)


@pytest.fixture
def staff(db: None) -> Any:
    return make_user(
        make_org(Organisation.Kind.DISTRIBUTOR, "Distributor"),
        email="staff@distributor.test",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def staff_client(client: Any, staff: Any) -> Any:
    """The test client signed in as ``staff`` through the real login and TOTP steps: no admin page opens
    for staff without the second factor (ESD-8). ``factories.login_staff_with_mfa`` for other users."""
    login_staff_with_mfa(client, staff)
    return client


@pytest.fixture
def product(db: None) -> Any:
    return make_product("W81-PRO", name="Windows 8.1 Pro")


@pytest.fixture
def product2(db: None) -> Any:
    return make_product("O2013-HB", name="Office Home and Business 2013")


# --- real services: SMTP catcher and Celery worker -------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpCatcher:
    """A real SMTP server (aiosmtpd) on a spare loopback port that keeps what it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, predicate: Any, timeout: float = 30) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            time.sleep(0.1)
        raise AssertionError(
            f"no matching mail within {timeout}s; got {[m['Subject'] for m in self.messages]}"
        )


@pytest.fixture
def smtp_server() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher()
    catcher.controller.start()
    yield catcher
    catcher.controller.stop()


def _database_url() -> str:
    d = connection.settings_dict
    user = d.get("USER") or "postgres"
    password = f":{d['PASSWORD']}" if d.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{d.get('HOST') or '127.0.0.1'}:{d.get('PORT') or 5432}/{d['NAME']}"


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc, self.log = proc, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def worker_cache_env() -> dict[str, str]:
    """A worker process shares the test's cache, under the same key prefix (settings: the xdist worker's
    name), as a deployment's workers share the web's: the placements' wake-up mark lives there."""
    xdist = os.environ.get("PYTEST_XDIST_WORKER")
    return {"PYTEST_XDIST_WORKER": xdist} if xdist else {}


@pytest.fixture(autouse=True)
def _no_wakeup_pending() -> None:
    """No placements' wake-up left marked as waiting by an earlier test, whose queue is gone (a mark would
    keep this test's placements from sending theirs until it lapses)."""
    from orders.services import fulfilment_woken

    fulfilment_woken()


@pytest.fixture
def celery_worker(
    transactional_db: None, smtp_server: SmtpCatcher, settings: Any, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real `celery -A portal worker` process on this test's database, queue and SMTP catcher."""
    base_url = getattr(settings, "PORTAL_BASE_URL", "http://127.0.0.1:8000")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(worker_cache_env())
    env.update(
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        LOCKER_MASTER_KEYS=",".join(settings.LOCKER_MASTER_KEYS),
        LOCKER_HASH_KEY=settings.LOCKER_HASH_KEY,
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="true",
        PORTAL_BASE_URL=base_url,
        LOCKER_EMAIL_FROM=settings.LOCKER_EMAIL_FROM,
        ORDER_SWEEP_INTERVAL="2",
        VENDOR_GATEWAY=settings.VENDOR_GATEWAY,
        VENDOR_SIM_DELAY=str(settings.VENDOR_SIM_DELAY),
        VENDOR_SIM_FAILURE_RATE=str(settings.VENDOR_SIM_FAILURE_RATE),
        MAIL_RETRY_BASE_SECONDS=str(settings.MAIL_RETRY_BASE_SECONDS),
        MAIL_MAX_RETRIES=str(settings.MAIL_MAX_RETRIES),
        WEBHOOK_ALLOWED_TARGETS=",".join(settings.WEBHOOK_ALLOWED_TARGETS),
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "-c",
                "2",
                "--pool",
                "prefork",
                "-l",
                "INFO",
                "--purge",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(proc, log)
    deadline = time.monotonic() + 60
    while "ready." not in worker.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the Celery worker did not start:\n" + worker.output()[-4000:])
        time.sleep(0.2)
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        celery_app.conf.task_always_eager = old
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run_concurrently(calls: list[Any]) -> list[Any]:
    """Run each zero-argument callable in its own thread, all released at the same moment, each on its own
    database connection (closed afterwards). Returns results in order; re-raises the first error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Any) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# --- release files (issue #14, downloads) ------------------------------------------------------------
@pytest.fixture(scope="session")
def _releases_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("releases")


@pytest.fixture(autouse=True)
def releases_dir(settings: Any, _releases_folder: Path) -> Path:
    """Release files (the ``releases`` storage alias) go to a folder of the test session, never to the
    worktree, whichever test stores one (``seed_demo`` does); the catalogue's storage follows the setting."""
    settings.STORAGES = {
        **settings.STORAGES,
        "releases": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(_releases_folder), "base_url": "/release-files/"},
        },
    }
    return _releases_folder


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Files saved to Django's default storage (centre documents, the demo's) go to a temporary folder,
    never into the working tree."""
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")


@pytest.fixture(autouse=True)
def _english_until_asked() -> Iterator[None]:
    """Each test starts in the default language and leaves none behind: a page asked for in Czech
    activates Czech in this thread (LocaleMiddleware), and the next test's service messages would be
    Czech too."""
    translation.deactivate()
    yield
    translation.deactivate()
