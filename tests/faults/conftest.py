"""Fault-injection harness: our own Redis servers, Celery workers we can kill, and the test process's broker.

Everything here runs on 127.0.0.1 only. The machine's shared PostgreSQL and Redis are never stopped: each test
starts its own ``redis-server`` on a spare port and its own ``celery worker`` processes (each in a process
group of its own, so ``kill -9`` reaches the main process and its pool children, and nothing else). The
``faults`` fixture stops whatever a test started in its ``finally`` block, before the test database is
flushed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import kombu.pools
import psycopg
import pytest
import redis
from django.db import connection
from kombu.utils.collections import eqhash

from portal.celery import app as celery_app
from tests.conftest import (
    REQUIRE_SERVICES,
    ROOT,
    SmtpCatcher,
    _database_url,
    free_port,
    wait_until,
    worker_cache_env,
)

REDIS_SERVER = "redis-server"


# --- our own Redis --------------------------------------------------------------------------------------
class RedisServer:
    """A throw-away ``redis-server`` on a spare loopback port: no persistence, so a restart loses everything."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = (self.workdir / f"redis-{self.port}-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"redis-server on {self.port} exited with {self.proc.returncode}")
            try:
                return bool(self.client().ping())
            except redis.RedisError:
                return False

        wait_until(up, timeout=15, interval=0.05, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop this server (SIGKILL: an outage, not a shutdown). Its data is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGCONT)  # a frozen server must be able to die
            self.proc.kill()
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts TCP connections (kernel backlog) but nothing ever answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)


# --- Celery workers we own ------------------------------------------------------------------------------
class Worker:
    """``celery -A portal worker`` on the test database, our Redis and an SMTP catcher; restartable.

    Started in a new session, so its process group holds exactly the main process, its prefork children and
    (with ``beat=True``) the embedded beat: ``kill9`` kills all of them and nothing else.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        queue: str,
        workdir: Path,
        name: str,
        concurrency: int = 2,
        beat: bool = False,
        include: str = "",
    ) -> None:
        self.env, self.queue, self.workdir, self.name = env, queue, workdir, name
        self.concurrency, self.beat, self.include = concurrency, beat, include
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.kills = 0
        self.ready_at = 0.0

    def start(self, timeout: float = 90) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        n = len(self.logs) + 1
        log = self.workdir / f"worker-{self.name}-{n}.log"
        self.logs.append(log)
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            self.queue,
            "-c",
            str(self.concurrency),
            "--pool",
            "prefork",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"faults-{self.name}-{n}-{uuid.uuid4().hex[:6]}@%h",
        ]
        if self.include:  # a module of the tests' own, imported by the worker (tests/faults/stall.py)
            cmd += ["--include", self.include]
        if self.beat:
            # A fresh schedule file per start, under tmp_path: never a celerybeat-schedule in the project.
            cmd += ["-B", "-s", str(self.workdir / f"beat-{self.name}-{n}")]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while "ready." not in log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill9()
                raise AssertionError(f"worker {self.name} did not start:\n" + self.output()[-4000:])
            time.sleep(0.1)
        self.ready_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """``kill -9`` the main process and every child in its process group, and reap the main one."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._wait_group_gone()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL to the group for anything left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        self.kill9()

    def _wait_group_gone(self, timeout: float = 10) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:  # pragma: no cover - the group id was recycled by someone else's process
                return
            time.sleep(0.05)

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


# --- SMTP catchers ------------------------------------------------------------------------------------
class RecordingSmtp(SmtpCatcher):
    """The project's SMTP catcher that also records every DATA attempt (time, recipients, answer).

    ``refusals`` DATA commands are answered 451 (try again later) before any is accepted; ``delay`` seconds are
    spent before answering, so concurrent senders really overlap.
    """

    def __init__(self, refusals: int = 0, delay: float = 0.0, port: int | None = None) -> None:
        super().__init__()
        if port is not None:  # a server started again where an earlier one listened
            from aiosmtpd.controller import Controller

            self.port = port
            self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.refusals = refusals
        self.delay = delay
        self.attempts: list[tuple[float, tuple[str, ...], int]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        if self.delay:
            await asyncio.sleep(self.delay)
        refused = len(self.attempts) < self.refusals
        with self._lock:
            self.attempts.append((time.monotonic(), tuple(envelope.rcpt_tos), 451 if refused else 250))
        if refused:
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)

    def count_by_recipient(self) -> Counter[str]:
        with self._lock:
            return Counter(str(m["To"]).lower() for m in self.messages)


# --- the harness --------------------------------------------------------------------------------------
class Faults:
    """What one fault test starts; everything is stopped by ``close`` (the fixture's ``finally``)."""

    def __init__(self, settings: Any, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        # The queue this process already sends to (``portal-test-<pid>``); on our own Redis nobody else reads it.
        self.queue = celery_app.conf.task_default_queue
        self.redises: list[RedisServer] = []
        self.workers: list[Worker] = []
        self.smtps: list[SmtpCatcher] = []
        self.locks: list[psycopg.Connection[Any]] = []
        self._broker_env_old: str | None = None
        self._broker_redirected = False

    # -- pieces
    def redis(self, start: bool = True) -> RedisServer:
        server = RedisServer(self.tmp_path)
        self.redises.append(server)
        if start:
            server.start()
        return server

    def smtp(self, refusals: int = 0, delay: float = 0.0, port: int | None = None) -> RecordingSmtp:
        server = RecordingSmtp(refusals=refusals, delay=delay, port=port)
        server.controller.start()
        self.smtps.append(server)
        return server

    def restart_smtp(self, server: RecordingSmtp) -> RecordingSmtp:
        """Stop ``server`` and start a new, empty one on the same port."""
        server.controller.stop()
        self.smtps.remove(server)
        return self.smtp(port=server.port)

    def worker_env(self, *, broker: RedisServer, smtp: SmtpCatcher, **overrides: Any) -> dict[str, str]:
        """The environment of ``tests.conftest.celery_worker``, on our Redis, queue and SMTP server."""
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
        env.update(
            DATABASE_URL=_database_url(),
            CELERY_BROKER_URL=broker.url,
            CELERY_QUEUE=self.queue,
            # The test's cache (the placements' wake-up mark), on the Redis no fault touches.
            CACHE_URL=os.environ.get("CACHE_URL", "locmemcache://faults"),
            **worker_cache_env(),
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
            EMAIL_TIMEOUT="5",
            LOCKER_MASTER_KEYS=",".join(s.LOCKER_MASTER_KEYS),
            LOCKER_HASH_KEY=s.LOCKER_HASH_KEY,
            SECRET_KEY=s.SECRET_KEY,
            DEBUG="true",
            PORTAL_BASE_URL=getattr(s, "PORTAL_BASE_URL", "http://127.0.0.1:8000"),
            LOCKER_EMAIL_FROM=s.LOCKER_EMAIL_FROM,
            ORDER_SWEEP_INTERVAL=str(s.ORDER_SWEEP_INTERVAL),
            VENDOR_GATEWAY="none",
            VENDOR_SIM_DELAY="0",
            VENDOR_SIM_FAILURE_RATE="0",
            MAIL_RETRY_BASE_SECONDS="1",
            MAIL_MAX_RETRIES="8",
            WEBHOOK_ALLOWED_TARGETS="",
            STAFF_ALERT_EMAILS="",
        )
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def worker(
        self,
        *,
        broker: RedisServer,
        smtp: SmtpCatcher,
        name: str = "w",
        concurrency: int = 2,
        beat: bool = False,
        include: str = "",
        start: bool = True,
        **env: Any,
    ) -> Worker:
        worker = Worker(
            env=self.worker_env(broker=broker, smtp=smtp, **env),
            queue=self.queue,
            workdir=self.tmp_path,
            name=name,
            concurrency=concurrency,
            beat=beat,
            include=include,
        )
        self.workers.append(worker)
        if start:
            worker.start()
        return worker

    def state_of(self, broker: RedisServer, worker: Worker) -> str:
        """What a failed wait should print: the broker's clients and queue, and the worker's log after it
        was asked (SIGUSR1, Celery's handler) for the stack of each of its threads."""
        lines = []
        with suppress(redis.RedisError):
            client = broker.client()
            lines.append(
                f"queue {self.queue}: {client.llen(self.queue)} waiting, {client.hlen('unacked')} unacked"
            )
            lines += [f"client {c['id']}: cmd={c['cmd']} age={c['age']}" for c in client.client_list()]
        if worker.alive():
            assert worker.proc is not None
            os.kill(worker.proc.pid, signal.SIGUSR1)
            time.sleep(1)
        return "\n".join([*lines, "--- worker log (end) ---", worker.output()[-12000:]])

    # -- the test process's own Celery producer
    def use_broker(self, server: RedisServer) -> None:
        """Send this process's tasks (``enqueue_on_commit``, ``.delay``) to ``server`` on our queue.

        Celery 5 reads ``CELERY_BROKER_URL`` from the environment before its configuration
        (``celery.app.utils.Settings.broker_url``), so the variable is what must change; the app caches its
        connection pool (``app._pool``) and producer pool (``app.amqp._producer_pool``), which we drop so the
        next publish builds pools for the new URL (what ``Celery._after_fork`` does).
        """
        assert not self._broker_redirected
        self._broker_env_old = os.environ.get("CELERY_BROKER_URL")
        os.environ["CELERY_BROKER_URL"] = server.url
        self._drop_app_pools()
        self._broker_redirected = True

    def _drop_app_pools(self) -> None:
        celery_app._pool = None
        with suppress(KeyError, AttributeError):
            celery_app.__dict__["amqp"]._producer_pool = None

    def _restore_broker(self) -> None:
        if not self._broker_redirected:
            return
        # Close and forget the pools built for our Redis (kombu keeps them in global groups by URL).
        ours = celery_app.connection_for_write()
        for group in (kombu.pools.producers, kombu.pools.connections):
            pool = dict.pop(group, eqhash(ours), None)
            if pool is not None:
                with suppress(Exception):
                    pool.force_close_all()
        ours.release()
        if self._broker_env_old is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = self._broker_env_old
        self._drop_app_pools()
        self._broker_redirected = False

    # -- PostgreSQL row locks held by the test, from a connection of its own
    def hold_lock(self, sql: str, params: tuple[Any, ...] = ()) -> psycopg.Connection[Any]:
        """Run ``sql`` (a SELECT … FOR UPDATE) in a transaction left open until ``release``."""
        conn = psycopg.connect(_database_url(), autocommit=False, application_name="faults-lock-holder")
        self.locks.append(conn)
        with conn.cursor() as cur:
            cur.execute(sql, params)
            cur.fetchall()
        return conn

    @staticmethod
    def release(conn: psycopg.Connection[Any]) -> None:
        if not conn.closed:
            with suppress(Exception):
                conn.rollback()
            conn.close()

    @staticmethod
    def backends_blocked_by(conn: psycopg.Connection[Any]) -> list[int]:
        """Backends of the test database waiting for a lock ``conn`` holds (the worker inside its transaction)."""
        holder = conn.info.backend_pid
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND %s = ANY(pg_blocking_pids(pid)) ORDER BY pid",
                [holder],
            )
            return [row[0] for row in cur.fetchall()]

    # -- the end
    def close(self) -> None:
        errors: list[BaseException] = []
        for step in (
            *(w.stop for w in self.workers),
            *(lambda c=c: self.release(c) for c in self.locks),
            self._restore_broker,
            *(r.stop for r in self.redises),
            *(s.controller.stop for s in self.smtps),
        ):
            try:
                step()
            except BaseException as exc:  # keep stopping the rest
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def faults(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[Faults]:
    """The harness; requested after ``transactional_db`` so it is torn down before the database is flushed."""
    if not _has_redis_server():
        reason = "redis-server is not installed (apt-get install redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    harness = Faults(settings, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
        connection.close()


def _has_redis_server() -> bool:
    from shutil import which

    return which(REDIS_SERVER) is not None


# --- helpers shared by the tests --------------------------------------------------------------------------
def run_in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``fn`` in a thread that closes its own database connection; the result lands in the dict."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # reported by the caller
            box["error"] = exc
        finally:
            connection.close()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box
