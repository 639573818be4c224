# The two commands a newcomer needs: `make run` and `make test`. Both install what they need into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Parallel test processes (pytest-xdist); 0 runs in one process.
TEST_WORKERS ?= 2

.PHONY: install run test lint typecheck format worker beat clean compose-env bench screenshots messages

# The translations (ALL-4): each locale/<language>/LC_MESSAGES/django.po compiled when it changes.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
LANGUAGES_TRANSLATED := pl de fr cs

install: $(VENV)/.installed $(MO_FILES)

%.mo: %.po
	msgfmt --check -o $@ $<

$(VENV)/.installed: pyproject.toml package-lock.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# axe-core, injected into pages by the browser tests (tests/e2e/test_layout.py); skipped without npm.
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; fi
	@touch $@

# Links in mails (the welcome mail's set-password link) follow the port served, unless PORTAL_BASE_URL is set.
run: install
	$(PY) manage.py migrate --noinput
	PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py seed_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/ — log in with one of the demo users above."
	PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Every page at 1280 and 390 px into test-artifacts/ for review (needs the services of README's Tests).
screenshots: install
	SCREENSHOTS=1 $(PY) -m pytest -p no:cacheprovider -q tests/e2e/test_layout.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy .

worker: install
	$(VENV)/bin/celery -A portal worker -l INFO

beat: install
	$(VENV)/bin/celery -A portal beat -l INFO

# After changing user-facing strings: brings every catalogue up to date with the code (new strings
# untranslated, removed ones dropped) and prints what each still lacks.
messages: install
	$(PY) manage.py makemessages --no-obsolete --add-location file $(addprefix -l ,$(LANGUAGES_TRANSLATED)) \
		--ignore ".venv/*" --ignore "node_modules/*" --ignore "tests/*" --ignore "bench/*" --ignore "test-artifacts/*"
	@for po in locale/*/LC_MESSAGES/django.po; do printf '%s: ' $$po; msgfmt --statistics -o /dev/null $$po; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache staticfiles test-artifacts node_modules

# Writes .env with fresh secrets for docker compose (never commit it).
compose-env:
	@test ! -e .env || (echo ".env exists; not overwriting it" && exit 1)
	@$(PYTHON) -c "import base64,os,secrets; k=lambda: base64.b64encode(os.urandom(32)).decode(); print(f'SECRET_KEY={secrets.token_urlsafe(50)}\nLOCKER_MASTER_KEYS={k()}\nLOCKER_HASH_KEY={k()}\nLOCKER_EMAIL_FROM=no-reply@locker.example\nDEMO_PASSWORD={secrets.token_urlsafe(12)}')" > .env
	@echo "wrote .env (demo users' password: DEMO_PASSWORD in .env; remove that line for a real deployment)"

# Benchmarks on PostgreSQL and Redis (own database portal_bench, own Redis dbs 7-8): prints a table and
# writes bench/results.json. BENCH_REPS=3 repetitions; BENCH_QUICK=1 for a short trial run.
bench: install
	$(PY) -m bench.run
