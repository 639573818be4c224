FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# DejaVu gives invoice PDFs the Central European letters the built-in PDF fonts lack.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml ./
COPY portal ./portal
COPY accounts ./accounts
COPY catalog ./catalog
COPY locker ./locker
COPY orders ./orders
COPY webhooks ./webhooks
COPY api ./api
RUN pip install .
COPY . .

# Static files are collected at build time with throw-away secrets; the real ones come at run time.
RUN DEBUG=false \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=redis://build:6379/0 \
    CACHE_URL=redis://build:6379/0 EMAIL_URL=smtp://build:25 \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    LOCKER_MASTER_KEYS="$(python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')" \
    LOCKER_HASH_KEY="$(python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')" \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 portal && chown -R portal /app
USER portal
EXPOSE 8000
# Workers, bind address and timeout: portal/gunicorn_conf.py (WEB_CONCURRENCY, WEB_BIND, WEB_TIMEOUT).
CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf", "--access-logfile", "-"]
