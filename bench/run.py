"""`make bench`: the ESD pipeline measured against this machine's own limits, measured in the same run.

Every figure is printed beside the raw limit it is compared with and their ratio (these machines are
noisy; only ratios compare across runs). Medians of BENCH_REPS (default 3) repetitions. Writes
bench/results.json. Needs PostgreSQL and Redis (the machine's, by default); uses its own database
(portal_bench, dropped and made anew), its own Redis databases and queue, its own SMTP server and
Celery workers, and a gunicorn for the page figures.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import statistics
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REPS = int(os.environ.get("BENCH_REPS", "3"))
QUICK = os.environ.get("BENCH_QUICK") == "1"  # smaller sizes, to try the harness itself
# A comma-separated subset (import, fulfilment, latency, big_order, pages, support), to iterate on one figure.
ONLY = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
PAGES_PORT = int(os.environ.get("BENCH_PORT", "8765"))
PAGE_SLICES = 5  # each page's seconds of a repetition, in this many turns with the others
ANALYZE = os.environ.get("BENCH_ANALYZE", "1") == "1"  # table statistics after loading data, see README
PY = sys.executable


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def random_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


# --- environment ------------------------------------------------------------------------------------------
def prepare_environment(smtp_port: int) -> dict[str, str]:
    env = {
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
        ),
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/7"),
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/8"),
        "CELERY_QUEUE": f"bench-{os.getpid()}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOCKER_MASTER_KEYS": b64key(),
        "LOCKER_HASH_KEY": b64key(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "false",  # plain HTTP on loopback, on purpose
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "BENCH_VIEWS": "true",
        "API_THROTTLE_RATE": "1000000/min",
        "VENDOR_GATEWAY": "none",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{PAGES_PORT}",
    }
    os.environ.update(env)
    db = urllib.parse.urlsplit(env["DATABASE_URL"])
    name = db.path.lstrip("/")
    admin = [f"-h{db.hostname or '127.0.0.1'}", f"-p{db.port or 5432}", f"-U{db.username or 'postgres'}"]
    subprocess.run(["dropdb", "--if-exists", "--force", *admin, name], check=True)
    subprocess.run(["createdb", *admin, name], check=True)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    import redis

    for url in (env["CELERY_BROKER_URL"], env["CACHE_URL"]):
        redis.Redis.from_url(url).flushdb()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    return env


class Smtp:
    """A local SMTP server that notes when it accepted a mail for each recipient."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.accepted: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()
        sock = __import__("socket").socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        now = time.time()
        with self.lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                self.accepted.setdefault(rcpt.lower(), now)
        return "250 OK"

    def wait_for(self, recipients: list[str], timeout: float) -> float:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if all(r in self.accepted for r in recipients):
                    return max(self.accepted[r] for r in recipients)
            time.sleep(0.02)
        missing = [r for r in recipients if r not in self.accepted]
        raise RuntimeError(f"{len(missing)} welcome mails missing after {timeout}s")


class Workers:
    def __init__(self, processes: int = 2) -> None:
        self.log = ROOT / "bench" / "worker.log"
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-Q",
                os.environ["CELERY_QUEUE"],
                "-c",
                str(processes),
                "--pool",
                "prefork",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while "ready." not in self.log.read_text(errors="replace"):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("workers did not start:\n" + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- fixtures in the bench database ---------------------------------------------------------------------
def reseller_org(name: str) -> tuple[Any, Any]:
    from accounts.models import Membership, Organisation, User

    org = Organisation.objects.create(name=name, kind=Organisation.Kind.RESELLER)
    user = User.objects.create_user(email=f"{uuid.uuid4().hex[:8]}@{name.lower().replace(' ', '-')}.bench")
    Membership.objects.create(user=user, organisation=org, role=Membership.Role.ADMIN)
    return org, user


def product(sku: str) -> Any:
    from catalog.models import Product

    return Product.objects.create(
        sku=sku,
        name=f"Bench {sku}",
        vendor="Bench",
        esd_eligible=True,
        installer_url="https://downloads.example.test/setup.exe",
    )


def stock(prod: Any, n: int) -> None:
    from locker.services import IMPORT_CHUNK, keys_import_numbered

    keys = [random_key() for _ in range(n)]
    numbered = list(enumerate(keys, start=1))
    for start in range(0, n, IMPORT_CHUNK):
        keys_import_numbered(product=prod, numbered=numbered[start : start + IMPORT_CHUNK])


# --- 1. import ------------------------------------------------------------------------------------------
def bench_import(n: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    from locker import vault
    from locker.services import key_fingerprint

    figures, limits = [], []
    for rep in range(REPS):
        keys = [random_key() for _ in range(n)]
        path = ROOT / "bench" / f"keys-{rep}.txt"
        path.write_text("\n".join(keys) + "\n")
        prod = product(f"IMPORT-{rep}")
        started = time.perf_counter()
        call_command("import_keys", prod.sku, str(path), stdout=open(os.devnull, "w"))  # noqa: SIM115
        figures.append(n / (time.perf_counter() - started))
        path.unlink()

        # The limit: the same work with nothing around it: seal every key, COPY the rows straight in.
        other = [random_key() for _ in range(n)]
        from django.utils import timezone

        now = timezone.now()
        started = time.perf_counter()
        rows = []
        for key in other:
            record_id = uuid.uuid4()
            sealed = vault.seal("productkey", record_id=str(record_id), plaintext=key)
            rows.append(
                (
                    record_id,
                    prod.pk,
                    sealed.ciphertext,
                    sealed.wrapped_key,
                    sealed.master_key_id,
                    key_fingerprint(key),
                    key[-5:],
                    "available",
                    now,
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_raw (LIKE locker_productkey INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.cursor.copy(
                "COPY bench_raw (id, product_id, ciphertext, wrapped_key, master_key_id, "
                "fingerprint, last5, status, imported_at) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        limits.append(n / (time.perf_counter() - started))
        if ANALYZE:  # what autovacuum does after a bulk load in production (it is off on these machines)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE locker_productkey")
        log(f"import rep {rep + 1}: {figures[-1]:,.0f} keys/s vs raw {limits[-1]:,.0f} keys/s")
    return {
        "figure": median(figures),
        "limit": median(limits),
        "unit": "keys/s",
        "target": 0.3,
        "what": f"{n:,} keys through import_keys vs raw AES-GCM + COPY",
    }


# --- 2. fulfilment throughput -------------------------------------------------------------------------------
def noop_rate(n: int) -> float:
    import redis

    from portal.tasks import noop

    url = os.environ["CELERY_BROKER_URL"]
    client = redis.Redis.from_url(url)
    key = f"bench:noop:{uuid.uuid4().hex}"
    started = time.perf_counter()
    for _ in range(n):
        noop.delay(url, key)
    while int(client.get(key) or 0) < n:
        time.sleep(0.005)
    return n / (time.perf_counter() - started)


def skip_locked_rate(prod: Any, n: int, per_tx: int = 1) -> float:
    """Raw allocation: transactions that take ``per_tx`` free keys with FOR UPDATE SKIP LOCKED."""
    from django.db import connection, transaction

    started = time.perf_counter()
    for _ in range(n // per_tx):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM locker_productkey WHERE product_id = %s AND status = 'available' "
                "ORDER BY imported_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [prod.pk, per_tx],
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "UPDATE locker_productkey SET status = 'allocated', allocated_at = now() WHERE id = ANY(%s)",
                [ids],
            )
    return n / (time.perf_counter() - started)


def place_orders(org: Any, user: Any, prod: Any, emails: list[str], quantity: int = 1) -> float:
    """Place one order per address in one transaction; return the moment they were committed (enqueued)."""
    from django.db import transaction

    from orders.services import LineIn, order_place

    with transaction.atomic():
        for email in emails:
            order_place(
                reseller=org,
                placed_by=user,
                end_customer_email=email,
                lines=[LineIn(product_id=prod.pk, quantity=quantity)],
            )
        committed = time.time()
    return committed


def bench_fulfilment(smtp: Smtp, n: int) -> dict[str, Any]:
    figures, noops, raws = [], [], []
    for rep in range(REPS):
        org, user = reseller_org(f"Fulfil {rep}")
        prod = product(f"FULFIL-{rep}")
        stock(prod, n)
        emails = [f"f{rep}-{i}@bench.customer" for i in range(n)]
        started = place_orders(org, user, prod, emails)
        last_mail = smtp.wait_for(emails, timeout=600)
        figures.append(n / (last_mail - started))
        noops.append(noop_rate(n))
        raw_product = product(f"RAW-{rep}")
        stock(raw_product, n)
        raws.append(skip_locked_rate(raw_product, n))
        log(
            f"fulfilment rep {rep + 1}: {figures[-1]:,.0f} orders/s; no-op task {noops[-1]:,.0f}/s; "
            f"SKIP LOCKED one key/tx {raws[-1]:,.0f}/s"
        )
    return {
        "figure": median(figures),
        "limit": median(noops),
        "unit": "orders/s",
        "target": 0.4,
        "what": f"{n:,} single-key orders at once, placement to welcome mail, 2 worker processes, vs a no-op task",
        "also": {
            "skip_locked_one_key_per_tx_per_s": median(raws),
            "ratio_to_skip_locked": median(figures) / median(raws),
        },
    }


# --- 3. latency under steady load ---------------------------------------------------------------------------
def bench_latency(smtp: Smtp, rate: float, seconds: float) -> dict[str, Any]:
    from orders.models import Order
    from orders.services import LineIn, order_place

    reps: list[dict[str, float]] = []
    for rep in range(REPS):
        org, user = reseller_org(f"Latency {rep}")
        prod = product(f"LATENCY-{rep}")
        count = int(rate * seconds)
        stock(prod, count)
        placed: dict[str, float] = {}
        start = time.time()
        for i in range(count):
            due = start + i / rate
            time.sleep(max(0.0, due - time.time()))
            email = f"l{rep}-{i}@bench.customer"
            before = time.time()
            order_place(
                reseller=org,
                placed_by=user,
                end_customer_email=email,
                lines=[LineIn(product_id=prod.pk, quantity=1)],
            )
            placed[email] = before
        smtp.wait_for(list(placed), timeout=300)
        latencies = [smtp.accepted[e] - t for e, t in placed.items()]
        achieved = count / (max(placed.values()) - start)
        reps.append(
            {
                "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95),
                "p99": percentile(latencies, 0.99),
                "achieved_rate": achieved,
            }
        )
        assert Order.objects.filter(reseller=org, status="fulfilled").count() == count
        log(
            f"latency rep {rep + 1}: p50 {reps[-1]['p50']:.3f}s p95 {reps[-1]['p95']:.3f}s "
            f"p99 {reps[-1]['p99']:.3f}s at {achieved:.1f} orders/s"
        )
    return {k: median([r[k] for r in reps]) for k in ("p50", "p95", "p99", "achieved_rate")} | {
        "unit": "s",
        "target_p95": 2.0,
        "what": f"{rate:g} orders/s for {seconds:g} s, placement to welcome mail",
    }


# --- 4. one big order ---------------------------------------------------------------------------------------
def bench_big_order(units: int) -> dict[str, Any]:
    from orders.models import Order

    figures, limits = [], []
    for rep in range(REPS):
        org, user = reseller_org(f"Big {rep}")
        prod = product(f"BIG-{rep}")
        stock(prod, units)
        started = time.time()
        place_orders(org, user, prod, [f"big{rep}@bench.customer"], quantity=units)
        order = Order.objects.get(reseller=org)
        while Order.objects.filter(pk=order.pk, status="fulfilled").count() == 0:
            if time.time() - started > 600:
                raise RuntimeError("the big order did not complete")
            time.sleep(0.02)
        figures.append(units / (time.time() - started))
        raw = product(f"BIGRAW-{rep}")
        stock(raw, units)
        limits.append(skip_locked_rate(raw, units, per_tx=1000))
        log(
            f"big order rep {rep + 1}: {units:,} units in {units / figures[-1]:.2f}s "
            f"({figures[-1]:,.0f} keys/s) vs raw 1,000 keys/tx {limits[-1]:,.0f} keys/s"
        )
    return {
        "figure": median(figures),
        "limit": median(limits),
        "unit": "keys/s",
        "target": 0.2,
        "seconds": units / median(figures),
        "what": f"one order of {units:,} units, placement to fulfilled, vs raw 1,000-key SKIP LOCKED transactions",
    }


# --- 5 and 6. pages and reveals over HTTP -------------------------------------------------------------
def session_cookie(user: Any) -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    # The portal's own session engine and first backend, as a login through the portal would store them.
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def load(
    port: int,
    requests_for: Callable[[int], tuple[str, str, dict[str, str]]],
    seconds: float,
    connections: int = 32,
) -> dict[str, Any]:
    """``connections`` clients, each sending one request after another for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = index
        mine: list[float] = []
        while time.perf_counter() < stop_at:
            method, path, headers = requests_for(i)
            i += connections
            t = time.perf_counter()
            try:
                conn.request(method, path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            if ok:
                mine.append(time.perf_counter() - t)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors[0]:
        raise RuntimeError(f"{errors[0]} requests failed")
    return {
        "rps": len(latencies) / elapsed,
        "p95": percentile(latencies, 0.95),
        "n": len(latencies),
        "elapsed": elapsed,
        "latencies": latencies,
    }


Target = tuple[str, Callable[[int], tuple[str, str, dict[str, str]]], int]  # a name, its requests, its port


def load_in_turns(
    targets: list[Target], *, reps: int, seconds: float, label: str, turns: int = PAGE_SLICES
) -> dict[str, list[dict[str, float]]]:
    """Each target loaded for ``seconds`` a repetition, in ``turns`` short slices taking turns with the
    others, so that the machine's speed, which drifts within seconds here, is the same for a page and the
    limit it is compared with. Each target's req/s and p95 of each repetition, logged as they come."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in targets}
    for rep in range(reps):
        slices: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in targets}
        for _ in range(turns):
            for name, fn, port in targets:
                slices[name].append(load(port, fn, seconds / turns))
        for name, parts in slices.items():
            latencies = [t for part in parts for t in part["latencies"]]
            results[name].append(
                {
                    "rps": len(latencies) / sum(part["elapsed"] for part in parts),
                    "p95": percentile(latencies, 0.95),
                }
            )
        log(
            f"{label} rep {rep + 1}: "
            + "; ".join(
                f"{k} {v[-1]['rps']:,.0f} req/s p95 {v[-1]['p95'] * 1000:.0f} ms" for k, v in results.items()
            )
        )
    return results


def medians(results: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each target's median req/s and p95 over the repetitions."""
    return {
        k: {"rps": median([r["rps"] for r in v]), "p95": median([r["p95"] for r in v])}
        for k, v in results.items()
    }


def paired_ratio(
    results: dict[str, list[dict[str, float]]], name: str, limit: str, key: str = "rps"
) -> float:
    """``name``'s ``key`` against ``limit``'s of the same repetition; the median of those."""
    pairs = zip(results[name], results[limit], strict=True)
    return median([page[key] / other[key] for page, other in pairs])


def count_queries(user: Any, path: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


def bulk_orders(org: Any, user: Any, prod: Any, n: int) -> None:
    from django.utils import timezone

    from orders.models import Order, OrderLine

    now = timezone.now()
    orders = Order.objects.bulk_create(
        [
            Order(
                reseller=org,
                placed_by=user,
                end_customer_email=f"o{i}@bench.customer",
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    OrderLine.objects.bulk_create(
        [OrderLine(order=o, product=prod, quantity=1, unit_price=prod.unit_price) for o in orders],
        batch_size=2000,
    )


def customer_with_keys(prod: Any, n: int) -> Any:
    from django.db import transaction

    from accounts.services import locker_account_for_email
    from locker.services import keys_allocate

    customer = locker_account_for_email(email=f"{uuid.uuid4().hex[:8]}@locker.bench")
    stock(prod, n)
    with transaction.atomic():
        keys_allocate(product_id=prod.pk, quantity=n, owner=customer)
    return customer


def bench_pages(orders: int, keys: int, seconds: float) -> dict[str, Any]:
    from locker.models import ProductKey

    big_org, big_user = reseller_org("Pages big")
    small_org, small_user = reseller_org("Pages small")
    prod = product("PAGES")
    bulk_orders(big_org, big_user, prod, orders)
    bulk_orders(small_org, small_user, prod, 20)
    customer = customer_with_keys(product("LOCKER"), keys)
    small_customer = customer_with_keys(product("LOCKER-S"), 10)
    if ANALYZE:
        # BENCH_ANALYZE=1: table statistics, as autovacuum keeps them in production (it is off on the
        # development machines); without them PostgreSQL plans the pages' queries as if the tables were empty.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    queries = {
        "orders_page_small": count_queries(small_user, "/orders/"),
        "orders_page_big": count_queries(big_user, "/orders/"),
        "locker_small": count_queries(small_customer, "/locker/"),
        "locker_big": count_queries(customer, "/locker/"),
    }
    port = PAGES_PORT
    gunicorn = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "portal.wsgi",
            # The deployed settings (workers: WEB_CONCURRENCY, else the CPUs + 1), on a local port.
            "-c",
            "python:portal.gunicorn_conf",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(ROOT / "bench" / "gunicorn.log").open("wb"),
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/bench/minimal/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        reseller_cookie, customer_cookie = session_cookie(big_user), session_cookie(customer)
        csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        key_ids = [str(k) for k in ProductKey.objects.filter(owner=customer).values_list("id", flat=True)]

        def minimal(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", "/bench/minimal/", {}

        def minimal_signed(i: int) -> tuple[str, str, dict[str, str]]:
            # The same view for the signed-in reseller: the session, the user, the memberships and the
            # navigation, which every signed-in page pays before its own work (reported, no target).
            return "GET", "/bench/minimal/", {"Cookie": f"{reseller_cookie}; csrftoken={csrf}"}

        def order_list(i: int) -> tuple[str, str, dict[str, str]]:
            # With the CSRF cookie, as a browser sends it back after its first page.
            return "GET", "/orders/", {"Cookie": f"{reseller_cookie}; csrftoken={csrf}"}

        def locker(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", "/locker/", {"Cookie": f"{customer_cookie}; csrftoken={csrf}"}

        def reveal(i: int) -> tuple[str, str, dict[str, str]]:
            return (
                "POST",
                f"/locker/keys/{key_ids[i % len(key_ids)]}/reveal/",
                {
                    "Cookie": f"{customer_cookie}; csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "Accept": "application/json",
                    "Content-Length": "0",
                },
            )

        load(port, minimal, 2)  # warm up every worker
        pages: list[Target] = [
            ("minimal", minimal, port),
            ("minimal_signed", minimal_signed, port),
            ("orders", order_list, port),
            ("locker", locker, port),
            ("reveal", reveal, port),
        ]
        results = load_in_turns(pages, reps=REPS, seconds=seconds, label="pages")
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
    summary = medians(results)
    for name in ("minimal_signed", "orders", "locker", "reveal"):
        # Each repetition's page against the minimal view of the same repetition.
        summary[name]["ratio"] = paired_ratio(results, name, "minimal")
        summary[name]["p95_ratio"] = paired_ratio(results, name, "minimal", key="p95")
        # And against the signed-in minimal view: what the page's own work costs (reported, no target).
        summary[name]["signed_ratio"] = paired_ratio(results, name, "minimal_signed")
    return {"summary": summary, "queries": queries, "orders_in_list": orders, "keys_in_locker": keys}


# --- report -------------------------------------------------------------------------------------------------
def main() -> int:
    smtp = Smtp()
    env = prepare_environment(smtp.port)
    log(f"bench database {env['DATABASE_URL']}, broker {env['CELERY_BROKER_URL']}, {REPS} repetitions")
    sizes: dict[str, Any] = {
        "import": 20_000 if QUICK else 100_000,
        "fulfil": 400 if QUICK else 2_000,
        "rate": 20.0,
        "seconds": 10.0 if QUICK else 60.0,
        "big": 2_000 if QUICK else 10_000,
        "orders": 2_000 if QUICK else 10_000,
        "keys": 200,
        "page_seconds": 5.0 if QUICK else 10.0,
        "support": 5_000 if QUICK else 100_000,
        "helpdesk": 1_000 if QUICK else 10_000,
    }
    results: dict[str, Any] = {"sizes": sizes, "reps": REPS, "machine": {"cpus": os.cpu_count()}}

    def wanted(name: str) -> bool:
        return not ONLY or name in ONLY

    if wanted("import"):
        results["import"] = bench_import(sizes["import"])
    if wanted("fulfilment") or wanted("latency") or wanted("big_order"):
        workers = Workers(processes=2)
        try:
            if wanted("fulfilment"):
                results["fulfilment"] = bench_fulfilment(smtp, sizes["fulfil"])
            if wanted("latency"):
                results["latency"] = bench_latency(smtp, sizes["rate"], sizes["seconds"])
            if wanted("big_order"):
                results["big_order"] = bench_big_order(sizes["big"])
        finally:
            workers.stop()
    if wanted("pages"):
        results["pages"] = bench_pages(sizes["orders"], sizes["keys"], sizes["page_seconds"])
    if wanted("support"):
        from bench.support import bench_support
        from bench.support import report as support_report

        results["support"] = bench_support(
            sizes["support"], sizes["helpdesk"], sizes["page_seconds"], REPS, PAGES_PORT
        )
        support_report(results["support"])
    smtp.controller.stop()
    if ONLY:
        print(json.dumps({k: v for k, v in results.items() if k in ONLY}, indent=2, default=str))
        print("(a partial run: bench/results.json is left as it was)")
        return 0

    pages = results["pages"]["summary"]
    minimal = pages["minimal"]["rps"]
    rows: list[tuple[str, float, float, str, str]] = [
        ("import", results["import"]["figure"], results["import"]["limit"], "keys/s", ">= 0.3"),
        ("fulfilment", results["fulfilment"]["figure"], results["fulfilment"]["limit"], "orders/s", ">= 0.4"),
        (
            "big order (10k units)",
            results["big_order"]["figure"],
            results["big_order"]["limit"],
            "keys/s",
            ">= 0.2",
        ),
        ("order list page", pages["orders"]["rps"], minimal, "req/s", ">= 0.3"),
        ("locker page", pages["locker"]["rps"], minimal, "req/s", ">= 0.3"),
        ("reveal", pages["reveal"]["rps"], minimal, "req/s", "(no target)"),
        ("minimal, signed in", pages["minimal_signed"]["rps"], minimal, "req/s", "(no target)"),
    ]
    print(
        "\n{:<24}{:>14}{:>14}{:>9}  {:<10}{}".format(
            "benchmark", "figure", "limit", "ratio", "unit", "target"
        )
    )
    page_ratios = {
        "order list page": pages["orders"]["ratio"],
        "locker page": pages["locker"]["ratio"],
        "reveal": pages["reveal"]["ratio"],
        "minimal, signed in": pages["minimal_signed"]["ratio"],
    }
    ratios = {name: page_ratios.get(name, figure / limit) for name, figure, limit, _unit, _target in rows}
    for name, figure, limit, unit, target in rows:
        print(f"{name:<24}{figure:>14,.1f}{limit:>14,.1f}{ratios[name]:>9.2f}  {unit:<10}{target}")
    print(
        "(page ratios: the median of each repetition's page against its minimal view, the two measured in "
        "alternating slices)"
    )
    lat = results["latency"]
    print(
        f"\nlatency at {sizes['rate']:g} orders/s for {sizes['seconds']:g}s (placement → welcome mail): "
        f"p50 {lat['p50']:.3f}s  p95 {lat['p95']:.3f}s  p99 {lat['p99']:.3f}s  (target p95 <= 2 s)"
    )
    print(
        "page p95 at 32 connections: "
        + ", ".join(f"{k} {v['p95'] * 1000:.0f} ms" for k, v in pages.items())
        + "; against the minimal view's: "
        + ", ".join(f"{k} {pages[k]['p95_ratio']:.1f}x" for k in ("orders", "locker", "reveal"))
        + " (target: order list and locker <= 3x)"
    )
    print(
        "against the signed-in minimal view (the page's own work): "
        + ", ".join(f"{k} {pages[k]['signed_ratio']:.2f}" for k in ("orders", "locker", "reveal"))
    )
    q = results["pages"]["queries"]
    print(
        f"SQL queries per page: order list {q['orders_page_small']} (20 orders) / {q['orders_page_big']} "
        f"({sizes['orders']:,} orders); locker {q['locker_small']} (10 keys) / {q['locker_big']} (200 keys)"
    )
    results["ratios"] = ratios
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
