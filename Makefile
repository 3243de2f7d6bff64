# `make run` serves the whole hub on http://127.0.0.1:$(PORT); `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 5001
export FLASK_APP := app_modular

.PHONY: run test test-sqlite test-postgres fuzz faults faults-quick lint install install-dev migrate postgres-server chromium clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

.env: | $(VENV)/.installed
	$(BIN)/flask config init-env

migrate: $(VENV)/.installed .env
	$(BIN)/flask db upgrade

# Web (gunicorn), worker, scheduler and the embedded Redis, until Ctrl-C stops them all. honcho reads no
# .env (`-e /dev/null`): it would override the environment with it, while the hub reads .env itself and
# lets a variable set in the environment win (`INGEST_KEY=k make run` serves with the key k).
run: migrate
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho -e /dev/null -f Procfile.dev start -p $(PORT)

# PostgreSQL binaries for the PostgreSQL half of the suite (the server itself is started by the tests).
postgres-server:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || \
	  (echo "PostgreSQL server binaries are missing: install postgresql or set TEST_DATABASE_URL" && exit 1)

# Debian's Chromium for the console's browser tests (tests/console/test_browser_*.py, PostgreSQL half), driven
# by Playwright from pip through /usr/bin/chromium: Playwright never downloads a browser of its own.
chromium:
	@test -x /usr/bin/chromium || \
	  (command -v apt-get >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  (echo "Chromium is missing: install Debian's chromium package (/usr/bin/chromium) for the browser tests" && exit 1)

test-sqlite: $(VENV)/.installed-dev
	$(PY) -m pytest -q --db=sqlite

test-postgres: $(VENV)/.installed-dev postgres-server chromium
	$(PY) -m pytest -q --db=postgres

# Both halves at once, one pytest process each (they share no port, file, database or Redis): on two cores
# the suite takes the time of its longer half instead of both. The SQLite half prints as it goes; the
# PostgreSQL half's output is kept in a file and printed whole once both are done, so each half's summary
# stays readable and the PostgreSQL summary closes the run. It fails if either half fails.
test: $(VENV)/.installed-dev postgres-server chromium
	@postgres_log=$$(mktemp); \
	$(PY) -m pytest -q --db=postgres -o cache_dir=.pytest_cache/postgres >"$$postgres_log" 2>&1 & postgres=$$!; \
	echo "== SQLite half (the PostgreSQL half runs at the same time; its output follows) =="; \
	$(PY) -m pytest -q --db=sqlite; sqlite_status=$$?; \
	wait $$postgres; postgres_status=$$?; \
	echo "== PostgreSQL half =="; cat "$$postgres_log"; rm -f "$$postgres_log"; \
	test $$sqlite_status -eq 0 && test $$postgres_status -eq 0

# Schemathesis with many fresh examples per operation (make test runs a bounded, repeatable number).
fuzz: $(VENV)/.installed-dev
	FUZZ_RANDOM=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(PY) -m pytest -q --db=sqlite tests/test_api_fuzz.py

# The hub under load on PostgreSQL while workers, Redis, PostgreSQL and the partners fail (faults/README.md),
# as on several machines: 2 web servers, 2 workers and the scheduler, each with its own instance folder.
faults: $(VENV)/.installed-dev postgres-server
	$(PY) -m faults.run --topology machines

# The same in about 2 minutes (50 s of load and faults) on one host (one web server, shared instance
# folder); CI runs it after the suite.
faults-quick: $(VENV)/.installed-dev postgres-server
	$(PY) -m faults.run --quick --topology one-host

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
