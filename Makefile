# Clycyo — `make run` starts it with demo data, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CLYCYO := $(VENV)/bin/clycyo
STAMP := $(VENV)/.installed
TRACKER_DIST := src/clycyo/web/static/clycyo.js
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ./clycyo-data

.PHONY: setup run test lint format typecheck bench clean system-packages bench-packages tracker screenshots

setup: $(STAMP) tracker

# Debian packages, as `found:package`: the package is installed unless `found` (a command on
# the PATH or a file pattern) is there already. The tests need Chromium (browser tests); the
# benchmarks also need wrk and nginx (bench/ingest.py) and PostgreSQL (bench/query.py's baseline).
TEST_PACKAGES := chromium:chromium
BENCH_PACKAGES := wrk:wrk nginx:nginx-light /usr/lib/postgresql/*/bin/initdb:postgresql

define install_missing
	@set -f; missing=""; \
	for pair in $(1); do \
	  set +f; found=$${pair%:*}; \
	  command -v "$$found" >/dev/null 2>&1 || compgen -G "$$found" >/dev/null || \
	    missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get install -y -q $$missing >/dev/null || \
	    { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $$missing >/dev/null; }; \
	fi
endef

system-packages:
	$(call install_missing,$(TEST_PACKAGES))

bench-packages:
	$(call install_missing,$(TEST_PACKAGES) $(BENCH_PACKAGES))

$(STAMP): pyproject.toml sdk/python/pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,clickhouse]' -e ./sdk/python
	touch $(STAMP)

tracker:
	@$(MAKE) -s -C tracker dist
	@mkdir -p $(dir $(TRACKER_DIST))
	@cp tracker/dist/clycyo.js $(TRACKER_DIST)

run: setup
	$(CLYCYO) serve --demo --data $(DATA) --host $(HOST) --port $(PORT)

test: setup system-packages
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests bench scripts sdk/python
	$(VENV)/bin/ruff format --check src tests bench scripts sdk/python
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy scripts
	cd sdk/python && ../../$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format src tests bench scripts sdk/python
	$(VENV)/bin/ruff check --fix src tests bench scripts sdk/python

# Every benchmark in bench/, at modest sizes (run a script directly for its full-size defaults,
# which docs/benchmarks.md reports). BENCH_EVENTS sizes the generated worlds.
BENCH_EVENTS ?= 1000000
bench: setup bench-packages
	@echo "results: printed below and written to bench/results/ (bench/query.py keeps its world in bench/data/)"
	$(PY) bench/ingest.py --duration 5
	$(PY) bench/query.py --events $(BENCH_EVENTS) --rounds 3
	$(PY) bench/dashboard.py --events $(BENCH_EVENTS)
	$(PY) bench/load_chdb.py --events 200000
	$(PY) bench/amend_chdb.py --rows 200000 --loads 20
	$(PY) bench/replace_chdb.py --rows 200000 --loads 10
	$(PY) bench/loop.py --runs 1
	$(PY) bench/derive.py --runs 1
	$(PY) bench/derive.py --server-batches --sizes 2500,25000 --runs 1
	$(PY) bench/replay.py --sizes 100000,300000
	$(PY) bench/startup.py --events $(BENCH_EVENTS)
	$(PY) bench/sdk.py --runs 3
	$(PY) bench/soak.py --duration 60 --chart bench/results/soak-rss.svg
	@echo "results: bench/results/{ingest,query,dashboard,sdk}-*.{json,md}, soak-*.json and"
	@echo "soak-rss.svg; load_chdb.py, amend_chdb.py, replace_chdb.py, derive.py, replay.py and"
	@echo "startup.py print their tables above only"

# The dashboard's images in docs/images/, remade from `clycyo serve --demo` in Chromium
# (scripts/screenshots.py; about a minute).
screenshots: setup system-packages
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) tracker/node_modules tracker/dist $(TRACKER_DIST) .pytest_cache .mypy_cache
