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

.PHONY: setup run test lint format typecheck bench clean system-packages tracker

setup: $(STAMP) tracker

# Debian packages the tests and benchmarks use (Chromium for browser tests, wrk and nginx for
# the ingest benchmark, PostgreSQL for the query comparison). Skipped when already present.
system-packages:
	@missing=""; \
	for pair in chromium:chromium wrk:wrk nginx:nginx-light; do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get install -y -q $$missing >/dev/null || \
	    { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $$missing >/dev/null; }; \
	fi

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
	$(VENV)/bin/ruff check src tests bench sdk/python
	$(VENV)/bin/ruff format --check src tests bench sdk/python
	$(VENV)/bin/mypy
	cd sdk/python && ../../$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format src tests bench sdk/python
	$(VENV)/bin/ruff check --fix src tests bench sdk/python

bench: setup system-packages
	$(PY) bench/ingest.py
	$(PY) bench/query.py

clean:
	rm -rf $(VENV) tracker/node_modules tracker/dist $(TRACKER_DIST) .pytest_cache .mypy_cache
