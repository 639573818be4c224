FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# DejaVu gives invoice PDFs the Central European letters the built-in PDF fonts lack; gettext compiles
# the translations (locale/*.po) at build time.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core gettext && rm -rf /var/lib/apt/lists/*

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them. The code
# runs from /app (WORKDIR), so the project itself needs no install: no list of apps to keep in step here.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(chr(10).join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY . .

# Static files are collected at build time with throw-away secrets; the real ones come at run time.
RUN DEBUG=false \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=redis://build:6379/0 \
    CACHE_URL=redis://build:6379/0 EMAIL_URL=smtp://build:25 \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    LOCKER_MASTER_KEYS="$(python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')" \
    LOCKER_HASH_KEY="$(python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')" \
    python manage.py collectstatic --noinput
# The translations (ALL-4): locale/<language>/LC_MESSAGES/django.po compiled to .mo, as `make` does.
RUN find locale -name django.po -execdir msgfmt --check -o django.mo django.po \;

# /data: where docker-compose.yml mounts the shared files volume (a new named volume takes this owner).
RUN useradd --system --uid 10001 portal && mkdir -p /data/media /data/releases && chown -R portal /app /data
USER portal
EXPOSE 8000
# Workers, bind address and timeout: portal/gunicorn_conf.py (WEB_CONCURRENCY, WEB_BIND, WEB_TIMEOUT).
CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf", "--access-logfile", "-"]
