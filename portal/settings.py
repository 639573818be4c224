"""The portal's one settings file.

Every value comes from the environment and has a default that works on a laptop: SQLite, tasks run
in-process after commit when no broker is configured, mail printed to the console. With DEBUG off the
portal refuses to start without a real SECRET_KEY and locker master keys (see ``portal.checks``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
import jinja2
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=True)
# A marker, not a secret: portal.checks refuses it when DEBUG is off.
INSECURE_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "core.admin_apps.PortalAdminConfig",  # Django's admin with the portal's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "portal",
    "accounts",
    "catalog",
    "locker",
    "orders",
    "centre",
    "support",
    "webhooks",
    "api",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files keep their public caching): everything rendered is private.
    "portal.middleware.PrivateByDefaultMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # ESD-8: no admin page for staff without a second factor (after auth, messages and allauth's context).
    "accounts.middleware.StaffSecondFactorMiddleware",
    "portal.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.portal",
            ],
        },
    },
    {
        # The rows of the three longest lists (the order list's, the locker's cards, the support queue's),
        # rendered by Jinja2 from jinja/ (core.rows): they cost a third of what Django's template language
        # spent on them (bench/README.md). Everything else, and every page around them, stays in Django's
        # templates.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "rows",
        "DIRS": [BASE_DIR / "jinja"],
        "APP_DIRS": False,
        "OPTIONS": {"undefined": jinja2.StrictUndefined, "autoescape": True},
    },
]

# --- Database -----------------------------------------------------------------------------------------
# Django's own PostgreSQL backend (the URL's scheme chooses it), with these settings changed from its
# defaults. gunicorn's sync workers serve one request at a time and Celery's prefork workers run one task at
# a time, so each process needs exactly one connection: it keeps it for CONN_MAX_AGE seconds between requests
# and tasks (portal.celery does for tasks what Django does around requests). Before a request's or task's
# first query Django checks a kept connection (CONN_HEALTH_CHECKS, one SELECT 1), so one the server has closed
# (a restart, an idle timeout) is replaced instead of failing the request.
# Parameters are bound on the server ("server_side_binding") and psycopg prepares a statement once a
# connection has run it DATABASE_PREPARE_THRESHOLD times: every page runs the same few queries, and
# PostgreSQL then plans each once per connection instead of on every request (bench/README.md has the
# figures). A migration that changes what a prepared query returns makes that query fail on connections
# that prepared it before: core.db closes such a connection at the first failure, and a deploy restarts
# the web and worker processes after `migrate` anyway (docker-compose.yml). Behind a PgBouncer in
# transaction mode older than 1.21 (or without max_prepared_statements), set DATABASE_PREPARE_THRESHOLD=0.
# Not used (bench/README.md, "Figures behind the code"): the "pool" option (it needs CONN_MAX_AGE 0 and
# keeps a pool in every process, with its threads and a check-out per request, for one connection used at a
# time; across processes PgBouncer is the pool).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DATABASE_PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=2)
if DATABASES["default"]["ENGINE"].endswith("postgresql") and DATABASE_PREPARE_THRESHOLD > 0:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=DATABASE_PREPARE_THRESHOLD
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads (the live test server, the in-process worker) write to one file: wait, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth's rate limits live here, so production wants Redis) -------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, reusing its Redis client (portal.cache): sessions are read from here on every page.
    CACHES["default"]["BACKEND"] = "portal.cache.RedisCache"
# Parts of base.html that hold only translations and URLs ({% cache ... using="templates" %} there): rendered
# once per process in production, every time while developing (so template edits show at once).
CACHES["templates"] = {
    "BACKEND": "django.core.cache.backends." + ("dummy.DummyCache" if DEBUG else "locmem.LocMemCache"),
    "LOCATION": "portal-templates",
}
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers share one Redis: keep their rate-limit counters apart.
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ['PYTEST_XDIST_WORKER']}"

# --- Auth ------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's own backend (``force_login``, the admin) and allauth's e-mail login. The organisation a request
# acts for is resolved apart, once per request (accounts.tenancy).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2 first: a login is the costliest request the portal serves, and Argon2 is both stronger and
# cheaper here than PBKDF2. PBKDF2 stays listed so older hashes still verify (and get upgraded).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# Accounts are made by the distributor (resellers) or by fulfilment (locker accounts); nobody signs up.
ACCOUNT_ADAPTER = "accounts.adapter.PortalAccountAdapter"
ACCOUNT_FORMS = {
    "reset_password_from_key": "accounts.forms.ResetPasswordKeyForm",
    # Nobody adds an address to their own account (ESD-14, ESD-15; portal.urls answers 404 there too).
    "add_email": "accounts.forms.NoAddEmailForm",
}
ACCOUNT_MAX_EMAIL_ADDRESSES = 1  # the account's own address only (allauth then offers no "add" form)
ACCOUNT_CHANGE_EMAIL = False  # no self-service change either (a confirmed change is a later issue)
ACCOUNT_PREVENT_ENUMERATION = True  # ESD-13: the same answer whether or not the address has an account
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False  # ESD-13: after setting the password the customer logs in
# Reset links are per account (accounts.tokens); the set-password link of a welcome mail belongs to its order
# (orders.tokens), so one reseller's resend never kills the link another reseller's order sent (ESD-15).
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = "orders.tokens.WelcomeLinkTokenGenerator"  # noqa: S105
ACCOUNT_RATE_LIMITS = {
    # Sign-in attempts per client, counted by accounts.login_limits without allauth's lock (under which
    # simultaneous sign-ins from one office were answered 429); allauth's own "login" limit is off.
    "login": "",
    "login_attempt_ip": "30/m/ip",
    # Failed sign-ins per account, and per client in an action of its own (accounts.login_limits).
    "login_failed": "5/5m/key",
    "login_failed_ip": "10/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    # Registrations of a customer's first administrator (CC-7, centre.views.RegisterView): per client
    # and per customer id typed, so a guesser of tax ids is slowed down from one address and from many.
    "centre_register_ip": env.str("CENTRE_REGISTRATION_LIMIT_IP", default="10/h/ip"),
    "centre_register_customer": env.str("CENTRE_REGISTRATION_LIMIT_CUSTOMER", default="5/h/key"),
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=7 * 24 * 3600)

# --- Second factor (allauth.mfa; ESD-8: staff reach no admin page without it, accounts.middleware) -------
# TOTP apps and one-time recovery codes; no WebAuthn (its extra JavaScript and origin rules are not needed).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# TOTP keys and recovery-code seeds are sealed by the locker's vault like every other secret (LOCK-1).
MFA_ADAPTER = "locker.mfa.VaultMFAAdapter"
# The name authenticator apps show next to the code.
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Reseller portal")
# Also accept the code of the step just before or after (a phone clock a few seconds off); each code is
# still accepted once only (allauth marks used codes in the cache).
MFA_TOTP_TOLERANCE = 1

# --- Internationalisation (ALL-4) -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("pl", _("Polish")),
    ("de", _("German")),
    ("fr", _("French")),
    ("cs", _("Czech")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Warsaw")
# Dates as each language writes them; English as Europe writes it (portal/formats/en), not month first.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Mail ------------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@distributor.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# ESD-9: the welcome mail comes from the locker's own domain.
LOCKER_EMAIL_FROM = env.str("LOCKER_EMAIL_FROM", default="no-reply@locker.example")

# --- Digital Locker ---------------------------------------------------------------------------------
# LOCK-3: master keys come from configuration only. Comma-separated base64 32-byte keys; the first one
# encrypts, the others still decrypt until every record has been re-wrapped.
LOCKER_MASTER_KEYS = env.list("LOCKER_MASTER_KEYS", default=[])
# LOCK-5: the keyed hash that finds duplicates without decrypting. It must outlive master-key rotation,
# so it is its own secret.
LOCKER_HASH_KEY = env.str("LOCKER_HASH_KEY", default="")
if not DEBUG:
    # Production refuses to start (web, worker, beat, commands alike) without real secrets.
    _missing = [
        name
        for name, bad in (
            ("SECRET_KEY", SECRET_KEY == INSECURE_DEV_SECRET_KEY or len(SECRET_KEY) < 32),
            ("LOCKER_MASTER_KEYS", not LOCKER_MASTER_KEYS),
            ("LOCKER_HASH_KEY", not LOCKER_HASH_KEY),
            # Production runs on the real services: tasks on workers, rate limits in a shared cache.
            ("DATABASE_URL", "DATABASE_URL" not in os.environ),
            ("CELERY_BROKER_URL", not os.environ.get("CELERY_BROKER_URL")),
            # A per-process or a dummy cache would give every worker its own counters, or none.
            (
                "CACHE_URL",
                not os.environ.get("CACHE_URL")
                or os.environ["CACHE_URL"].startswith(("locmemcache:", "dummycache:")),
            ),
            # Welcome mails carry set-password links: never to a console, a file or nowhere (ALL-2's
            # "nothing lost" and ESD-9), only to a real SMTP server.
            (
                "EMAIL_URL",
                not os.environ.get("EMAIL_URL", "").startswith(
                    ("smtp://", "smtps://", "smtp+tls://", "smtp+ssl://")
                ),
            ),
        )
        if bad
    ]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off and these settings are missing or unsafe: "
            + ", ".join(_missing)
            + ". Make locker keys with `python manage.py locker_newkey`."
        )
else:
    # A local development key derived from SECRET_KEY, so a newcomer needs to configure nothing. Never
    # used with DEBUG off: portal.checks refuses to start without real keys.
    _dev = hashlib.sha256(("locker-dev:" + SECRET_KEY).encode()).digest()
    if not LOCKER_MASTER_KEYS:
        LOCKER_MASTER_KEYS = [base64.b64encode(_dev).decode()]
    if not LOCKER_HASH_KEY:
        LOCKER_HASH_KEY = base64.b64encode(hashlib.sha256(b"hash:" + _dev).digest()).decode()

# ESD-11: keys stay retrievable at least two years after fulfilment (a system check refuses less).
LOCKER_RETENTION_DAYS = env.int("LOCKER_RETENTION_DAYS", default=730)

# --- ESD orders ---------------------------------------------------------------------------------------
# ESD-14: a correction made after the welcome mail was accepted by the mail server waits for a staff
# approval (admin → Address corrections) before the keys move. On by default in production.
ESD_CORRECTION_REVIEW = env.bool("ESD_CORRECTION_REVIEW", default=not DEBUG)
# Whom an end customer contacts about an order (named in the notice a corrected address's old owner gets).
PORTAL_SUPPORT_EMAIL = env.str("PORTAL_SUPPORT_EMAIL", default=DEFAULT_FROM_EMAIL)
# The reseller's home page counts a delivery as needing attention once it has stayed unopened this long.
DASHBOARD_UNOPENED_DAYS = env.int("DASHBOARD_UNOPENED_DAYS", default=7)
# ESD-12: how often a reseller may resend one order's welcome mail per hour.
WELCOME_MAIL_RESENDS_PER_HOUR = env.int("WELCOME_MAIL_RESENDS_PER_HOUR", default=3)
# SMTP errors are retried with exponential backoff (base × 2^attempt seconds, at most 1 hour apart).
MAIL_MAX_RETRIES = env.int("MAIL_MAX_RETRIES", default=8)
MAIL_RETRY_BASE_SECONDS = env.float("MAIL_RETRY_BASE_SECONDS", default=10.0)
# ESD-4: where keys come from when a product's pool is short: "simulated" (a stand-in vendor that issues
# keys after VENDOR_SIM_DELAY seconds and fails transiently at VENDOR_SIM_FAILURE_RATE) or "none".
VENDOR_GATEWAY = env.str("VENDOR_GATEWAY", default="simulated")
VENDOR_SIM_DELAY = env.float("VENDOR_SIM_DELAY", default=0.0)
VENDOR_SIM_FAILURE_RATE = env.float("VENDOR_SIM_FAILURE_RATE", default=0.0)
VENDOR_MAX_RETRIES = env.int("VENDOR_MAX_RETRIES", default=8)
# Where staff alerts (a welcome mail or a vendor that failed for good) are mailed; they show in the admin too.
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=[])
# ESD-6: invoices.
INVOICE_CURRENCY = env.str("INVOICE_CURRENCY", default="EUR")
INVOICE_VAT_PERCENT = Decimal(env.str("INVOICE_VAT_PERCENT", default="23"))
INVOICE_ISSUER = env.str("INVOICE_ISSUER", default="Demo Distribution sp. z o.o.")
INVOICE_ISSUER_ADDRESS = env.str("INVOICE_ISSUER_ADDRESS", default="ul. Przykładowa 1, 00-001 Warszawa")
INVOICE_ISSUER_TAX_ID = env.str("INVOICE_ISSUER_TAX_ID", default="PL0000000000")

# --- Customer centre -----------------------------------------------------------------------------------
# CC-8: a registration not confirmed within this many days lapses (its link dies, the sweeper deletes it).
CENTRE_REGISTRATION_DAYS = env.int("CENTRE_REGISTRATION_DAYS", default=2)

# --- Customer centre: releases and downloads (CC-2, CC-5, SUP-11) -------------------------------------
# Release files live in their own storage alias: a private volume by default (RELEASES_ROOT, never served
# by the web server as it is), or any Django storage (RELEASES_STORAGE_BACKEND, e.g.
# storages.backends.s3.S3Storage) with its options as JSON (RELEASES_STORAGE_OPTIONS).
STORAGES["releases"] = {
    "BACKEND": env.str("RELEASES_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env.json(
        "RELEASES_STORAGE_OPTIONS",
        default={"location": env.str("RELEASES_ROOT", default=str(BASE_DIR / "var" / "releases"))},
    ),
}
# How /centre/downloads/file/<id>/ hands a file over once the access check passed: "x-accel" (nginx
# serves it from an internal location: X-Accel-Redirect: <prefix><file name>), "x-sendfile" (Apache or
# lighttpd: X-Sendfile: <absolute path>), "signed-url" (a redirect to the storage's short-lived URL, e.g.
# S3 with query-string auth) or "direct" (Django streams it: development only). x-accel in production.
CENTRE_DOWNLOAD_DELIVERIES = ("x-accel", "x-sendfile", "signed-url", "direct")
CENTRE_DOWNLOAD_DELIVERY = env.str("CENTRE_DOWNLOAD_DELIVERY", default="direct" if DEBUG else "x-accel")
if CENTRE_DOWNLOAD_DELIVERY not in CENTRE_DOWNLOAD_DELIVERIES:
    raise ImproperlyConfigured(
        "CENTRE_DOWNLOAD_DELIVERY must be one of " + ", ".join(CENTRE_DOWNLOAD_DELIVERIES)
    )
CENTRE_DOWNLOAD_ACCEL_PREFIX = env.str("CENTRE_DOWNLOAD_ACCEL_PREFIX", default="/protected-releases/")
# How long a signed storage URL stays valid (signed-url), in seconds.
CENTRE_DOWNLOAD_URL_SECONDS = env.int("CENTRE_DOWNLOAD_URL_SECONDS", default=300)
# SUP-11: whom a customer whose download access was withdrawn contacts.
CENTRE_LICENSING_CONTACT_EMAIL = env.str("CENTRE_LICENSING_CONTACT_EMAIL", default=PORTAL_SUPPORT_EMAIL)
# --- Support desk (SUP-*) --------------------------------------------------------------------------------
# SUP-8: the first answer is due this many working hours after arrival; working days leave out weekends,
# the public holidays of SUPPORT_COUNTRY (ISO code for the `holidays` package) and the closed days staff
# add in the admin. At SUPPORT_WARN_PERCENT of the time the queue warns; a breach is mailed to
# SUPPORT_ESCALATION_EMAILS and raises the priority.
SUPPORT_COUNTRY = env.str("SUPPORT_COUNTRY", default="PL")
SUPPORT_SLA_HOURS = env.int("SUPPORT_SLA_HOURS", default=72)
SUPPORT_WARN_PERCENT = env.int("SUPPORT_WARN_PERCENT", default=80)
SUPPORT_ESCALATION_EMAILS = env.list("SUPPORT_ESCALATION_EMAILS", default=[])
# Attachments: at most this many bytes each, and this many per message.
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
SUPPORT_ATTACHMENTS_PER_MESSAGE = env.int("SUPPORT_ATTACHMENTS_PER_MESSAGE", default=5)
# Support attachments go through Django's default storage (MEDIA_ROOT above), never served as static
# files: a view checks who asks and sends them as downloads.

# --- Reseller API ---------------------------------------------------------------------------------------
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasResellerToken"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reseller portal API",
    "DESCRIPTION": """Order ESD product keys for your end customers from your own shop. Keys are never part of
any response: they go straight to the end customer's Digital Locker, which only the customer can open.

**1. Token.** In the portal, Settings → API tokens → Create token (administrators). Copy it: it is shown once.
Send it on every request as `Authorization: Bearer <token>`.

**2. Order.** `POST /api/v1/orders/` with
`{"end_customer_email": "…", "lines": [{"sku": "W81-PRO", "quantity": 2}]}` and an
`Idempotency-Key: <uuid>` header. Repeating the same request with the same key replays the first answer
(one order, even if your shop retried); the same key with another body answers 422. Follow the order at
`GET /api/v1/orders/{id}/`.

**3. Webhooks.** Settings → Webhooks → add your URL; copy the signing secret (shown once). You receive
`order.fulfilled`, `order.awaiting_stock`, `order.welcome_mail_failed`, `order.keys_accessed` and
`order.cancelled` as JSON POSTs with `Portal-Signature: t=<unix seconds>,v1=<hex>`. Verify: compute
HMAC-SHA256 keyed with your secret over `<t>.<raw body>`, compare with `v1` in constant time, and reject `t`
more than 5 minutes off. Answer 2xx; anything else is retried with growing gaps for a day.

**Errors** are RFC 9457 `application/problem+json` with a stable `code`; validation errors list
`errors[].field` (e.g. `lines[0].sku`). Past your rate limit you get 429 with `Retry-After`.""",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "WelcomeMailStatusEnum": "orders.models.Order.MailStatus",
    },
}
# Webhooks go to public addresses only. Exact exceptions, "ip:port" each ("127.0.0.1:9911", "[::1]:9000"):
# a receiver on a closed network, or a test's receiver. Everything else about the URL is still checked.
WEBHOOK_ALLOWED_TARGETS = env.list("WEBHOOK_ALLOWED_TARGETS", default=[])
# HTTPS receivers are verified against this CA bundle; empty: the public CAs requests ships (certifi).
WEBHOOK_CA_BUNDLE = env.str("REQUESTS_CA_BUNDLE", default="")
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)

# --- Celery (ALL-5) ---------------------------------------------------------------------------------
BROKER_CONFIGURED = bool(env.str("CELERY_BROKER_URL", default=""))
# No broker: tasks run in-process, still only after the surrounding transaction commits.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not BROKER_CONFIGURED
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="portal")
if os.environ.get("PYTEST_VERSION") and "CELERY_QUEUE" not in os.environ:
    # Each test process gets a queue of its own, so parallel runs and stale messages never mix.
    CELERY_TASK_DEFAULT_QUEUE = f"portal-test-{os.getpid()}"
# A task is acknowledged after it ran, so one lost with a crashed worker is delivered again; every task
# is idempotent, so running twice does no harm twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A broker that accepts connections but never answers must not hang a web request: give up in
    # seconds; the order is already stored and the sweeper enqueues it later.
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
    "socket_connect_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
    "socket_keepalive": True,
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0)
# Publishing gives up after one quick retry (a silent broker costs a request about 6 s, not 20+).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# A worker that is connected and idle but receives nothing while its queues hold messages reconnects after
# two such checks (portal.consumer_watchdog: a kombu/Celery bug after Redis restarts). 0 turns it off.
CELERY_STALL_CHECK_SECONDS = env.float("CELERY_STALL_CHECK_SECONDS", default=30.0)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Without this, Celery's Django fix-up closes every database connection before and after each task, and a
# fulfilment task paid for a new PostgreSQL connection each time. With it, portal.celery treats connections
# as Django treats them between web requests: closed when broken or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
ORDER_SWEEP_INTERVAL = env.int("ORDER_SWEEP_INTERVAL", default=60)
# How many placed orders one fulfilment task takes in one transaction (1 turns batching off).
ORDER_FULFIL_BATCH = env.int("ORDER_FULFIL_BATCH", default=50)
CELERY_BEAT_SCHEDULE = {
    "sweep-orders": {"task": "orders.tasks.sweep_orders", "schedule": float(ORDER_SWEEP_INTERVAL)},
    "purge-expired-keys": {"task": "locker.tasks.purge_expired_keys", "schedule": 3600.0},
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": float(ORDER_SWEEP_INTERVAL)},
    "purge-idempotency-records": {"task": "api.tasks.purge_idempotency_records", "schedule": 3600.0},
    "sweep-invitations": {"task": "centre.tasks.sweep_invitations", "schedule": float(ORDER_SWEEP_INTERVAL)},
    "sweep-registrations": {
        "task": "centre.tasks.sweep_registrations",
        "schedule": float(ORDER_SWEEP_INTERVAL),
    },
}
# The support desk's clocks (SUP-8): warnings, breaches and escalations, and mails a lost message left unsent.
CELERY_BEAT_SCHEDULE["support-check-clocks"] = {
    "task": "support.tasks.check_clocks",
    "schedule": float(env.int("SUPPORT_CLOCK_INTERVAL", default=60)),
}

# --- Sessions ------------------------------------------------------------------------------------------
# Read from the cache (Redis in production), written through to the database: a page costs no session
# query, and logging out, a password change or a lost cache still end or keep a session as before.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Security ---------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


# How many reverse proxies in front of the portal are the operator's own (TLS terminated at them): 0 (or
# false) for none, true for one, or a number. It decides the client address everywhere (accounts.client_ip):
# allauth's login limits, the API throttle and reveal events (LOCK-4); and X-Forwarded-Proto is trusted.
def _proxy_count(raw: str) -> int:
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return 0
    if value in ("true", "yes", "on"):
        return 1
    if value.isdigit():
        return int(value)
    raise ImproperlyConfigured(f"BEHIND_TLS_PROXY must be a number of proxies or true/false, not {raw!r}")


BEHIND_TLS_PROXY = _proxy_count(env.str("BEHIND_TLS_PROXY", default=""))
ALLAUTH_TRUSTED_PROXY_COUNT = BEHIND_TLS_PROXY
REST_FRAMEWORK["NUM_PROXIES"] = BEHIND_TLS_PROXY
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# On by default in production; docker compose and `make bench`, which serve plain HTTP on purpose, turn
# them off explicitly.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Preloading is hard to undo (browsers ship the list): the operator opts in; until then Django's reminder
# (security.W021) is silenced, so `check --deploy --fail-level WARNING` passes on a sound deployment.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy on every page (django-csp): scripts and styles only from the portal's own
# static files, no inline script or style anywhere (the API docs use drf-spectacular's split view), images
# also as data: URIs (the QR code of the TOTP set-up), no framing, forms posting only to the portal.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Adds the yardstick view of `make bench` (a one-query page); never set in production.
BENCH_VIEWS = env.bool("BENCH_VIEWS", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Files staff upload for customers (centre documents) live in the default storage (STORAGES above); the
# file system one keeps them here, a volume in production. Never served as static files: every document
# goes out through the centre's access check.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# --- A person's own account: e-mail change and signed-in sessions (issue #14) ---------------------------
# The link mailed to a new address works this many hours (accounts.email_change); requests to change the
# address are limited per account and per client (counted like the sign-in limits, accounts.login_limits).
EMAIL_CHANGE_HOURS = env.int("EMAIL_CHANGE_HOURS", default=24)
ACCOUNT_RATE_LIMITS["email_change"] = env.str("EMAIL_CHANGE_LIMIT", default="5/h/key,20/h/ip")
CELERY_BEAT_SCHEDULE["sweep-email-changes"] = {
    "task": "accounts.tasks.sweep_email_changes",
    "schedule": float(ORDER_SWEEP_INTERVAL),
}
# Signed-in sessions (allauth.usersessions, /accounts/sessions/): each person sees theirs and ends the
# others. "Last seen" is refreshed at most every few minutes (accounts.session_activity), not by allauth's
# per-request tracking; after the authentication and allauth's context, which it reads.
INSTALLED_APPS.append("allauth.usersessions")
USERSESSIONS_TRACK_ACTIVITY = False
MIDDLEWARE.insert(
    MIDDLEWARE.index("allauth.account.middleware.AccountMiddleware") + 1,
    "accounts.session_activity.SessionActivityMiddleware",
)

# --- Reminders before support ends (SUP-2; centre.services.reminders) ------------------------------------
# A customer's active administrators get one mail per licence this many days before its support ends, with
# the way to renew: SUPPORT_RENEWAL_URL if set, else the distributor's support address.
SUPPORT_REMINDER_DAYS = env.int("SUPPORT_REMINDER_DAYS", default=30)
SUPPORT_RENEWAL_URL = env.str("SUPPORT_RENEWAL_URL", default="")
CELERY_BEAT_SCHEDULE["support-reminders"] = {
    "task": "centre.tasks.send_support_reminders",
    "schedule": env.float("SUPPORT_REMINDER_INTERVAL", default=3600.0),
}

# --- Customer centre: imports and product registration (issue #14, CC-10) ------------------------------
# Product registrations (centre.product_registration_views): attempts per person and per customer, counted
# like the registration's (accounts.login_limits.count_attempt), so nobody tries numbers in bulk.
ACCOUNT_RATE_LIMITS["centre_product_register_user"] = env.str(
    "CENTRE_PRODUCT_REGISTRATION_LIMIT_USER", default="10/h/key"
)
ACCOUNT_RATE_LIMITS["centre_product_register_org"] = env.str(
    "CENTRE_PRODUCT_REGISTRATION_LIMIT_ORG", default="30/h/key"
)
# Uploads still queued after a lost message are sent to a worker again.
CELERY_BEAT_SCHEDULE["sweep-import-jobs"] = {
    "task": "centre.tasks.sweep_import_jobs",
    "schedule": float(max(60, ORDER_SWEEP_INTERVAL)),
}

# --- Support desk: the public web form (/help/, SUP-6, SUP-7, SVC-6; support.web_views) ------------------
# A web-form request is held until its address is confirmed from a mail; unconfirmed, it lapses after this
# many days (the link expires with it), swept by a periodic task that also re-sends reply mails a lost
# message left unsent. Submissions are limited per client address and per e-mail address.
SUPPORT_WEB_FORM_HOLD_DAYS = env.int("SUPPORT_WEB_FORM_HOLD_DAYS", default=2)
ACCOUNT_RATE_LIMITS["support_web_form_ip"] = env.str("SUPPORT_WEB_FORM_LIMIT_IP", default="10/h/ip")
ACCOUNT_RATE_LIMITS["support_web_form_email"] = env.str("SUPPORT_WEB_FORM_LIMIT_EMAIL", default="5/h/key")
CELERY_BEAT_SCHEDULE["support-sweep-web-requests"] = {
    "task": "support.tasks.sweep_web_requests",
    "schedule": float(max(60, ORDER_SWEEP_INTERVAL)),
}
