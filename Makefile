# shadan — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Every target here is a developer's: local settings, said explicitly (config/environment.py;
# production processes get SHADAN_ENV=production from their units).
MANAGE := SHADAN_ENV=local $(PY) manage.py
# The retail site's process: its own settings (config/settings/retail_site.py), the retail
# database only, its own key file (.local-keys-retail.env).
RETAIL := SHADAN_SITE_ROLE=retail SHADAN_ENV=local $(PY) manage.py

.PHONY: run test test-fast lint install keys migrate demo static lock clean-db messages

## run: install, migrate the databases, generate dev keys, load demo data, collect the static
## files, serve the T&D site on 127.0.0.1:8000 and the retail site on 127.0.0.1:8001 with
## DEBUG off (DJANGO_DEBUG=true make run for a developer); Ctrl-C stops both
run: install keys migrate demo static
	@echo "T&D site: http://127.0.0.1:8000/   retail site: http://127.0.0.1:8001/"
	trap 'kill 0' INT TERM; \
	$(MANAGE) runserver 127.0.0.1:8000 & \
	$(RETAIL) runserver 127.0.0.1:8001 & \
	wait

## test: the whole suite on the embedded default (or on PostgreSQL with DATABASE_URL/VAULT_DATABASE_URL/RETAIL_DATABASE_URL),
## on every core (pytest-xdist: each worker its own test databases; tests that share the
## broker, roles or ports run on one worker, tests/conftest.py), the slowest listed
test: install
	$(PY) -m pytest -n auto --dist loadgroup --durations=15 $(PYTEST_ARGS)

## test-fast: the inner loop: the suite without the browser and real-worker tests, on every core
test-fast: install
	$(PY) -m pytest -n auto --dist loadgroup -m "not browser and not worker" $(PYTEST_ARGS)

## lint: ruff, mypy and the import contracts
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

install: $(STAMP)

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

keys: install
	$(MANAGE) init_local_keys

migrate: install keys
	$(MANAGE) migrate --database default --no-input
	$(MANAGE) migrate --database vault --no-input
	$(MANAGE) migrate --database retail --no-input
	$(RETAIL) migrate --no-input

demo: install migrate
	$(MANAGE) load_demo

# Into var/static, where WhiteNoise serves them from; copies only what changed.
static: install
	$(MANAGE) collectstatic --no-input --verbosity 0

## messages: refresh the Japanese catalog from the code (needs GNU gettext) and compile it
## with polib, so a fresh clone needs no gettext: the compiled .mo is committed.
messages: install
	$(MANAGE) makemessages -l ja --ignore=.venv --ignore=tests --ignore=var
	$(PY) -c "import polib; polib.pofile('locale/ja/LC_MESSAGES/django.po').save_as_mofile('locale/ja/LC_MESSAGES/django.mo')"

## lock: re-resolve every dependency to its newest allowed version and rewrite constraints.txt
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet ".[dev]"
	( echo "# Exact versions for every install (make install uses: pip install -c constraints.txt)."; \
	  echo "# Refresh deliberately with \`make lock\`, review the diff, commit."; \
	  .lock-venv/bin/pip freeze --exclude shadan ) > constraints.txt
	rm -rf .lock-venv

## bench: measure at a scale (SCALE=small|medium|large) into var/bench/ (or PostgreSQL with
## DATABASE_URL/VAULT_DATABASE_URL); prints a table, BENCH_ARGS="--json PATH" writes JSON too
SCALE ?= small
BENCH_ARGS ?=
.PHONY: bench
bench: install
	$(PY) -m bench --scale $(SCALE) $(BENCH_ARGS)

## clean-db: forget the local databases (keys stay)
clean-db:
	rm -f var/shadan.sqlite3 var/vault.sqlite3 var/retail.sqlite3

## smoke: the production smoke test (PostgreSQL and Redis on 127.0.0.1; SMOKE_PREFIX names
## its databases and roles, default shadan_smoke; SMOKE_REDIS_URL its Redis db, default 3)
.PHONY: smoke
smoke: install
	$(PY) deploy/smoke-test

## soak: load and faults for SOAK_SECONDS (default 120) on 127.0.0.1: ten users through the
## workflow while Redis, a worker, database backends and a gunicorn worker are killed;
## exits non-zero on any inconsistency (deploy/soak; SOAK_PREFIX names its databases)
.PHONY: soak
soak: install
	$(PY) deploy/soak
