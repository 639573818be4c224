"""`BENCH_ONLY=support`: the support desk's staff pages (issue #15, "Speed") and django-helpdesk beside them.

- ``load_support``: support requests with their messages and events, COPYed in (several organisations,
  every status, priority, channel and category, assignees, ``messages`` messages each).
- ``bench_support``: the staff queue (the admin changelist) and a request's admin page, signed in as a staff
  user whose session passed the second factor (a TOTP authenticator and allauth's ``mfa`` authentication
  record, what ``accounts.middleware.StaffSecondFactorMiddleware`` checks), against the one-query view; the
  SQL queries of each page at two data sizes; then the same first ``helpdesk_n`` requests loaded into
  django-helpdesk (its own virtual environment, project and database, served by gunicorn the same way) and
  our pages against its ticket list's JSON call and its ticket page, in alternating slices. Beside them, an
  admin changelist with no rows (``ADMIN_FLOOR_PATH``), for the same staff session: what any page in
  Django's admin costs before its own work (reported, no target).

Nothing of django-helpdesk is committed: the virtual environment (``bench/.helpdesk-venv``, gitignored) is
made and filled from PyPI at run time, the project is written to a temporary directory.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELPDESK_VERSION = os.environ.get("BENCH_HELPDESK_VERSION", "2.6.1")  # supports Django 5.2
HELPDESK_VENV = ROOT / "bench" / ".helpdesk-venv"
HELPDESK_DATABASE = "portal_bench_helpdesk"
HELPDESK_PORT_OFFSET = 1  # django-helpdesk's gunicorn listens on BENCH_PORT + 1
# An admin changelist with no rows in the bench (SUP-5 entitlement bindings): the floor of any admin page.
ADMIN_FLOOR_PATH = "/admin/support/entitlementbinding/"

WORDS = [
    "licence",
    "installation",
    "update",
    "server",
    "error",
    "module",
    "shop",
    "invoice",
    "activation",
    "key",
    "download",
    "release",
    "database",
    "backup",
    "import",
    "export",
    "customer",
    "order",
    "payment",
    "template",
    "theme",
    "plugin",
    "cache",
    "login",
    "password",
    "certificate",
    "domain",
    "migration",
    "report",
    "printer",
    "warehouse",
    "stock",
    "price",
    "tax",
    "currency",
    "language",
    "mail",
    "schedule",
    "timeout",
    "connection",
    "permission",
    "upgrade",
    "version",
    "patch",
    "configuration",
    "network",
    "firewall",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:]


def body(rng: random.Random) -> str:
    return "\n\n".join(
        ". ".join(sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(2, 4))) + "."
        for _ in range(rng.randint(1, 3))
    )


# --- our side: the data ---------------------------------------------------------------------------------
def _copy(table: str, fields: list[Any], rows: Iterator[list[Any]]) -> None:
    from django.db import connection

    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _prepared(obj: Any, fields: list[Any]) -> list[Any]:
    from django.db import connection

    values = []
    for field in fields:
        value = field.get_db_prep_save(getattr(obj, field.attname), connection)
        if field.get_internal_type() == "JSONField":
            value = json.dumps(getattr(obj, field.attname))
        values.append(value)
    return values


def load_support(
    n: int, *, organisations: int = 20, messages: int = 3, seed: int = 15, prefix: str = "BENCH"
) -> dict[str, Any]:
    """``n`` requests over ``organisations`` organisations (one person filing each), ``messages`` messages
    and two events each, COPYed in with every column the models have (their defaults for the rest).
    Returns the organisations, the staff assignees and the requests' numbers in the order made (the
    messages' texts follow from ``seed``: ``request_texts`` gives them again)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Organisation, User
    from support.models import (
        CHANNEL_RANK,
        COVERED_CATEGORIES,
        Category,
        Channel,
        Kind,
        Message,
        SupportEvent,
        SupportRequest,
    )

    rng = random.Random(seed)
    tag = prefix.lower()
    orgs = [
        Organisation.objects.create(name=f"{prefix} support {i}", kind=Organisation.Kind.CUSTOMER)
        for i in range(organisations)
    ]
    people = [User.objects.create_user(email=f"{tag}-person-{i}@support.bench") for i in range(organisations)]
    assignees = [
        User.objects.create_user(email=f"{tag}-staff-{i}@support.bench", is_staff=True) for i in range(5)
    ]
    now = timezone.now()
    statuses = list(SupportRequest.Status.values)
    priorities = list(SupportRequest.Priority.values)
    channels = list(Channel.values)
    categories = list(Category.values)
    kinds = list(Kind.values)
    numbers: list[str] = []
    request_fields = [f for f in SupportRequest._meta.concrete_fields if not f.primary_key]
    message_fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    event_fields = [f for f in SupportEvent._meta.concrete_fields if not f.primary_key]
    texts: list[tuple[str, list[str]]] = []
    created_at: list[Any] = []

    def requests() -> Iterator[list[Any]]:
        for i in range(n):
            org = rng.randrange(organisations)
            subject, bodies = request_texts(rng, messages)
            texts.append((subject, bodies))
            status = rng.choice(statuses)
            channel = rng.choice(channels)
            category = rng.choice(categories)
            created = now - timedelta(minutes=n - i)
            created_at.append(created)
            running = status in ("new", "open")
            number = f"{prefix}-{i + 1}"
            numbers.append(number)
            obj = SupportRequest(
                number=number,
                organisation_id=orgs[org].pk,
                requester_id=people[org].pk,
                kind=rng.choice(kinds),
                channel=channel,
                channel_rank=CHANNEL_RANK[Channel(channel)],
                url=f"https://shop{org}.example.test/",
                host=f"shop{org}.example.test",
                category=category,
                covered=category in COVERED_CATEGORIES,
                subject=subject,
                status=status,
                priority=rng.choice(priorities),
                assignee_id=rng.choice(assignees).pk if rng.random() < 0.7 else None,
                created_at=created,
                sla_state="running" if running else "answered",
                due_at=created + timedelta(hours=8) if running else None,
                warn_at=created + timedelta(hours=6) if running else None,
                first_answered_at=None if running else created + timedelta(hours=2),
                mail_sent_at=created,
            )
            yield _prepared(obj, request_fields)

    with transaction.atomic():
        _copy(SupportRequest._meta.db_table, request_fields, requests())
        ids = dict(SupportRequest.objects.filter(number__startswith=f"{prefix}-").values_list("number", "pk"))

        def message_rows() -> Iterator[list[Any]]:
            for number, (_subject, bodies), created in zip(numbers, texts, created_at, strict=True):
                request_id = ids[number]
                for j, text in enumerate(bodies):
                    staff = j % 2 == 1
                    obj = Message(
                        request_id=request_id,
                        author_id=assignees[0].pk if staff else None,
                        kind=Message.Kind.PUBLIC_REPLY if staff else Message.Kind.CUSTOMER,
                        body=text,
                        created_at=created + timedelta(minutes=30 * j),
                    )
                    yield _prepared(obj, message_fields)

        def event_rows() -> Iterator[list[Any]]:
            for number in numbers:
                for kind in (SupportEvent.Kind.FILED, SupportEvent.Kind.CLOCK_STARTED):
                    obj = SupportEvent(request_id=ids[number], kind=kind, at=now, data={})
                    yield _prepared(obj, event_fields)

        _copy(Message._meta.db_table, message_fields, message_rows())
        _copy(SupportEvent._meta.db_table, event_fields, event_rows())
    return {"organisations": orgs, "assignees": assignees, "numbers": numbers, "texts": texts, "ids": ids}


def request_texts(rng: random.Random, messages: int) -> tuple[str, list[str]]:
    return sentence(rng, rng.randint(4, 9))[:200], [body(rng) for _ in range(messages)]


# --- our side: the staff user ---------------------------------------------------------------------------
def staff_with_second_factor() -> tuple[Any, str]:
    """A superuser with a TOTP authenticator and a session that passed it (allauth's ``mfa`` authentication
    record naming the authenticator), as the login stage leaves it; returns the user and the cookie."""
    from importlib import import_module

    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import User

    user = User.objects.create_superuser(
        email=f"staff-{secrets.token_hex(4)}@support.bench", password=secrets.token_urlsafe(16)
    )
    TOTP.activate(user, generate_totp_secret())
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["account_authentication_methods_user"] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "id": totp.pk, "type": "totp"},
    ]
    session.save()
    return user, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def count_queries(cookie: str, path: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    name, value = cookie.split("=", 1)
    client = Client()
    client.cookies[name] = value
    client.get(path)  # once before: the content types and the site's caches, read by the first request only
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


# --- gunicorn --------------------------------------------------------------------------------------------
def start_gunicorn(
    python: str, app: str, port: int, *, cwd: Path, env: dict[str, str], log: Path, extra: list[str]
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [python, "-m", "gunicorn", app, *extra, "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.time() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            return proc
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(
                f"gunicorn on {port} did not start:\n" + log.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.3)


# --- django-helpdesk ---------------------------------------------------------------------------------------
HELPDESK_SETTINGS = """
import os
SECRET_KEY = os.environ["HD_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites",
    "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdproject.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "hdproject.wsgi.application"
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["HD_DB_NAME"],
    "HOST": os.environ["HD_DB_HOST"], "PORT": os.environ["HD_DB_PORT"], "USER": os.environ["HD_DB_USER"],
    "CONN_MAX_AGE": 600,
}}
# The portal's session engine and cache (Redis), so both sides read a session the same way.
CACHES = {"default": {
    "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["HD_CACHE_URL"],
    "KEY_PREFIX": "helpdesk",
}}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "Europe/Berlin"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/login/"
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
"""

HELPDESK_URLS = """
from django.contrib import admin
from django.urls import include, path
urlpatterns = [path("admin/", admin.site.urls), path("", include("helpdesk.urls", namespace="helpdesk"))]
"""

HELPDESK_WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""

# Run by django-helpdesk's Python in the project directory: reads the requests as JSON lines from stdin,
# makes a queue, a staff user and the tickets with one follow-up per message (the first is the ticket's
# opening one, as helpdesk's own create form makes it), and prints the session cookie and ticket ids.
HELPDESK_LOADER = """
import json, os, sys
from datetime import timedelta
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import connection, transaction
from django.utils import timezone
from helpdesk.models import FollowUp, Queue, Ticket

User = get_user_model()
staff = User.objects.create_superuser("bench-staff", "staff@helpdesk.bench", os.environ["HD_SECRET_KEY"][:20])
agents = [User.objects.create_user(f"agent{i}", f"agent{i}@helpdesk.bench", is_staff=True) for i in range(5)]
queue = Queue.objects.create(title="Support", slug="support", allow_email_submission=False)
now = timezone.now()
items = [json.loads(line) for line in sys.stdin]
with transaction.atomic():
    tickets = Ticket.objects.bulk_create([
        Ticket(
            title=item["subject"], queue=queue, created=now - timedelta(minutes=len(items) - i),
            modified=now, submitter_email=item["email"], status=item["status"], priority=item["priority"],
            description=item["messages"][0],
            assigned_to=agents[item["assignee"]] if item["assignee"] is not None else None,
        )
        for i, item in enumerate(items)
    ], batch_size=2000)
    FollowUp.objects.bulk_create([
        FollowUp(
            ticket=ticket, date=ticket.created + timedelta(seconds=j), public=True,
            title="Ticket Opened" if j == 0 else "Comment", comment=text,
            user=None if j % 2 == 0 else agents[0],
        )
        for ticket, item in zip(tickets, items) for j, text in enumerate(item["messages"])
    ], batch_size=5000)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(staff.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
session.save()
print(json.dumps({
    "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
    "ids": [t.pk for t in tickets],
}))
"""

# The ticket list page's default query (open, reopened; by creation), as ``helpdesk.views.staff.ticket_list``
# hands it to its datatable, and the datatable's first call (draw 1, the first 25 rows).
HELPDESK_LIST_QUERY = {
    "filtering": {"status__in": [1, 2]},
    "filtering_null": {},
    "sorting": "created",
    "search_string": "",
    "sortreverse": False,
}


def helpdesk_python() -> str:
    python = HELPDESK_VENV / "bin" / "python"
    stamp = HELPDESK_VENV / f".installed-{HELPDESK_VERSION}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(HELPDESK_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                f"django-helpdesk=={HELPDESK_VERSION}",
                "Django>=5.2,<5.3",
                "gunicorn",
                "psycopg[binary]",
                "redis",
            ],
            check=True,
        )
        stamp.touch()
    return str(python)


def helpdesk_env(project: Path, cache_url: str) -> dict[str, str]:
    db = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    return {
        **base,
        "PYTHONPATH": str(project),
        "DJANGO_SETTINGS_MODULE": "hdproject.settings",
        "HD_SECRET_KEY": secrets.token_urlsafe(40),
        "HD_DB_NAME": os.environ.get("BENCH_HELPDESK_DATABASE", HELPDESK_DATABASE),
        "HD_DB_HOST": db.hostname or "127.0.0.1",
        "HD_DB_PORT": str(db.port or 5432),
        "HD_DB_USER": db.username or "postgres",
        "HD_CACHE_URL": cache_url,
    }


def helpdesk_setup(items: list[dict[str, Any]]) -> tuple[str, Path, dict[str, str], dict[str, Any]]:
    """The virtual environment, the project in a temporary directory, its database migrated and loaded."""
    python = helpdesk_python()
    project = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    package = project / "hdproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(HELPDESK_SETTINGS)
    (package / "urls.py").write_text(HELPDESK_URLS)
    (package / "wsgi.py").write_text(HELPDESK_WSGI)
    (project / "load.py").write_text(HELPDESK_LOADER)
    env = helpdesk_env(project, os.environ["CACHE_URL"])
    admin = [f"-h{env['HD_DB_HOST']}", f"-p{env['HD_DB_PORT']}", f"-U{env['HD_DB_USER']}"]
    subprocess.run(["dropdb", "--if-exists", "--force", *admin, env["HD_DB_NAME"]], check=True)
    subprocess.run(["createdb", *admin, env["HD_DB_NAME"]], check=True)
    subprocess.run([python, "-m", "django", "migrate", "-v0"], cwd=project, env=env, check=True)
    loaded = subprocess.run(
        [python, "load.py"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input="".join(json.dumps(item) + "\n" for item in items),
    )
    return python, project, env, json.loads(loaded.stdout.strip().splitlines()[-1])


# helpdesk's status and priority numbers for ours (its statuses: 1 open, 2 reopened, 3 resolved, 4 closed,
# 6 duplicate; priorities: 1 critical .. 5 very low).
HD_STATUS = {"new": 1, "open": 1, "waiting": 2, "answered": 3, "closed": 4}
HD_PRIORITY = {4: 1, 3: 2, 2: 3, 1: 4}


# --- the benchmark -----------------------------------------------------------------------------------------
def bench_support(n: int, helpdesk_n: int, seconds: float, reps: int, port: int) -> dict[str, Any]:
    from django.db import connection

    from bench.run import ANALYZE, PY, Target, load, load_in_turns, log, medians, paired_ratio
    from support.models import SupportRequest

    staff, cookie = staff_with_second_factor()
    small = load_support(200, organisations=4, prefix="SMALL", seed=1)
    if ANALYZE:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    small_id = small["ids"][small["numbers"][0]]
    queue_path = "/admin/support/supportrequest/"
    queries = {
        "queue_small": count_queries(cookie, queue_path),
        "page_small": count_queries(cookie, f"/admin/support/supportrequest/{small_id}/change/"),
    }
    started = time.perf_counter()
    big = load_support(n, prefix="BENCH", seed=15)
    load_seconds = time.perf_counter() - started
    log(f"support: {n:,} requests with {n * 3:,} messages loaded in {load_seconds:.1f} s")
    if ANALYZE:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    big_ids = [big["ids"][number] for number in big["numbers"][:helpdesk_n]]
    queries["queue_big"] = count_queries(cookie, queue_path)
    queries["page_big"] = count_queries(cookie, f"/admin/support/supportrequest/{big_ids[0]}/change/")
    queries["queue_page_2_big"] = count_queries(cookie, queue_path + "?p=2")
    queries["admin_floor"] = count_queries(cookie, ADMIN_FLOOR_PATH)
    requests_total = SupportRequest.objects.count()

    # The same first ``helpdesk_n`` requests, texts and replies, into django-helpdesk.
    emails = {o.pk: f"person@{o.name.lower().replace(' ', '-')}.bench" for o in big["organisations"]}
    rows = SupportRequest.objects.filter(pk__in=big_ids).values(
        "pk", "organisation_id", "status", "priority", "assignee_id"
    )
    by_id = {row["pk"]: row for row in rows}
    assignee_index = {u.pk: i for i, u in enumerate(big["assignees"])}
    items = []
    for request_id, (subject, bodies) in zip(big_ids, big["texts"][:helpdesk_n], strict=True):
        row = by_id[request_id]
        items.append(
            {
                "subject": subject,
                "messages": bodies,
                "email": emails[row["organisation_id"]],
                "status": HD_STATUS[row["status"]],
                "priority": HD_PRIORITY[row["priority"]],
                "assignee": assignee_index.get(row["assignee_id"]),
            }
        )
    started = time.perf_counter()
    hd_python, hd_project, hd_env, hd = helpdesk_setup(items)
    log(
        f"django-helpdesk {HELPDESK_VERSION}: {helpdesk_n:,} tickets set up in {time.perf_counter() - started:.1f} s"
    )
    hd_port = port + HELPDESK_PORT_OFFSET
    from portal.gunicorn_conf import workers

    ours = start_gunicorn(
        PY,
        "portal.wsgi",
        port,
        cwd=ROOT,
        env=dict(os.environ),
        log=ROOT / "bench" / "gunicorn.log",
        extra=["-c", "python:portal.gunicorn_conf"],
    )
    theirs = None
    try:
        theirs = start_gunicorn(
            hd_python,
            "hdproject.wsgi",
            hd_port,
            cwd=hd_project,
            env=hd_env,
            log=ROOT / "bench" / "gunicorn-helpdesk.log",
            extra=["-w", str(workers), "-k", "sync"],
        )
        csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        our_headers = {"Cookie": f"{cookie}; csrftoken={csrf}"}
        their_headers = {"Cookie": f"{hd['cookie']}; csrftoken={csrf}"}
        hd_query = base64.b64encode(json.dumps(HELPDESK_LIST_QUERY).encode()).decode()
        hd_list = f"/datatables_ticket_list/{hd_query}?draw=1&start=0&length=25"
        hd_ids = hd["ids"]

        def minimal(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", "/bench/minimal/", {}

        def queue(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", queue_path, our_headers

        def page(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", f"/admin/support/supportrequest/{big_ids[i % len(big_ids)]}/change/", our_headers

        def admin_floor(i: int) -> tuple[str, str, dict[str, str]]:
            # An admin changelist with no rows (the entitlement bindings: a search box, no filters): what
            # any page in Django's admin costs before its own work, for the same staff session.
            return "GET", ADMIN_FLOOR_PATH, our_headers

        def hd_queue(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", hd_list, their_headers

        def hd_page(i: int) -> tuple[str, str, dict[str, str]]:
            return "GET", f"/tickets/{hd_ids[i % len(hd_ids)]}/", their_headers

        targets: list[Target] = [
            ("minimal", minimal, port),
            ("queue", queue, port),
            ("request_page", page, port),
            ("admin_floor", admin_floor, port),
            ("helpdesk_list_json", hd_queue, hd_port),
            ("helpdesk_ticket_page", hd_page, hd_port),
        ]
        for name, fn, target_port in targets:  # warm up every worker, and fail early on an error page
            load(target_port, fn, 2)
            log(f"support: {name} answers")
        results = load_in_turns(targets, reps=reps, seconds=seconds, label="support", turns=5)
    finally:
        ours.terminate()
        ours.wait(30)
        if theirs is not None:
            theirs.terminate()
            theirs.wait(30)
        shutil.rmtree(hd_project, ignore_errors=True)
    summary = medians(results)
    for name in ("queue", "request_page", "admin_floor"):
        summary[name]["ratio"] = paired_ratio(results, name, "minimal")
        summary[name]["p95_ratio"] = paired_ratio(results, name, "minimal", key="p95")
    for ours_name, theirs_name in (("queue", "helpdesk_list_json"), ("request_page", "helpdesk_ticket_page")):
        summary[ours_name]["helpdesk_ratio"] = paired_ratio(results, ours_name, theirs_name)
    return {
        "summary": summary,
        "queries": queries,
        "requests": requests_total,
        "load_seconds": load_seconds,
        "helpdesk": {"version": HELPDESK_VERSION, "tickets": helpdesk_n, "list_call": hd_list},
    }


def report(result: dict[str, Any]) -> None:
    s, q = result["summary"], result["queries"]
    print(f"\nsupport desk, {result['requests']:,} requests (loaded in {result['load_seconds']:.1f} s):")
    for name in ("queue", "request_page"):
        print(
            f"  {name:<14}{s[name]['rps']:>8,.1f} req/s  {s[name]['ratio']:.2f} of the one-query view "
            f"(target >= 0.3); p95 {s[name]['p95'] * 1000:.0f} ms = {s[name]['p95_ratio']:.1f}x its p95 "
            f"(target <= 3x); {s[name]['helpdesk_ratio']:.1f}x django-helpdesk (expect >= 10x)"
        )
    floor = s["admin_floor"]
    print(
        f"  {'admin_floor':<14}{floor['rps']:>8,.1f} req/s  {floor['ratio']:.2f} of the one-query view; p95 "
        f"{floor['p95'] * 1000:.0f} ms = {floor['p95_ratio']:.1f}x its p95 (an admin changelist with no rows: "
        f"reported, no target)"
    )
    for name in ("minimal", "helpdesk_list_json", "helpdesk_ticket_page"):
        print(f"  {name:<22}{s[name]['rps']:>8,.1f} req/s  p95 {s[name]['p95'] * 1000:.0f} ms")
    print(
        f"  SQL queries: queue {q['queue_small']} (200 requests) / {q['queue_big']} (all) / "
        f"{q['queue_page_2_big']} (page 2); request page {q['page_small']} / {q['page_big']}; "
        f"admin floor {q['admin_floor']}"
    )
