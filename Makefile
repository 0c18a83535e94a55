# Centro 311 — tasks. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp
PORT ?= 5000
PYSTAMP := $(VENV)/.installed
NODESTAMP := node_modules/.installed
MO := webapp/translations/en/LC_MESSAGES/messages.mo
VENDOR := webapp/static/vendor/.built
# The modeler's own sources, bundled by esbuild with bpmn-js and its plugins.
MODELER_SRC := $(wildcard webapp/static/js/modeler/*.js webapp/static/js/modeler/*/*.js \
	webapp/static/js/modeler/*.json webapp/static/js/modeler/*.css)
PO := webapp/translations/en/LC_MESSAGES/messages.po

.PHONY: help setup run test test-sqlite test-postgres lint bench bench-scale e2e faults db-upgrade db-revision translations-extract clean

help: ## List the tasks
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-20s %s\n", $$1, $$2}'

$(PYSTAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(NODESTAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries from npm, copied into the ignored static/vendor folder;
# the modeler (bpmn-js, properties panel, bpmnlint and our entries under
# static/js/modeler/) is bundled there by esbuild.
$(VENDOR): $(NODESTAMP) $(MODELER_SRC)
	rm -rf webapp/static/vendor
	mkdir -p webapp/static/vendor/bpmn-js
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js webapp/static/vendor/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets webapp/static/vendor/bpmn-js/assets
	mkdir -p webapp/static/vendor/dmn-js
	cp node_modules/dmn-js/dist/dmn-modeler.production.min.js webapp/static/vendor/dmn-js/
	cp -r node_modules/dmn-js/dist/assets webapp/static/vendor/dmn-js/assets
	mkdir -p webapp/static/vendor/leaflet
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
	   webapp/static/vendor/leaflet/
	cp -r node_modules/leaflet/dist/images webapp/static/vendor/leaflet/images
	mkdir -p webapp/static/vendor/libphonenumber-js
	cp node_modules/libphonenumber-js/bundle/libphonenumber-max.js webapp/static/vendor/libphonenumber-js/
	node_modules/.bin/esbuild webapp/static/js/modeler/index.js --bundle --minify \
	   --format=iife --target=es2019 --legal-comments=linked --log-level=warning \
	   --alias:domify=./webapp/static/js/modeler/domify-csp.js \
	   --outfile=webapp/static/vendor/modeler/modeler.js
	touch $@

$(MO): $(PO) $(PYSTAMP)
	$(BIN)/pybabel -q compile -d webapp/translations

setup: $(PYSTAMP) $(NODESTAMP) $(VENDOR) $(MO) ## Create the virtualenv, install packages and front-end assets, compile translations

run: setup ## Set everything up and serve on http://127.0.0.1:$(PORT) with the worker in-process
	C311_ENV=development $(FLASK) db-upgrade
	C311_ENV=development $(FLASK) deploy-seed
	C311_ENV=development $(FLASK) seed-demo
	@echo "Centro 311 en http://127.0.0.1:$(PORT)"
	C311_ENV=development C311_PUBLIC_URL=$${C311_PUBLIC_URL:-http://127.0.0.1:$(PORT)} $(FLASK) serve --port $(PORT)

test: setup ## Run the whole suite (again on PostgreSQL when TEST_DATABASE_URL is set)
	@if [ "$$CI" = "true" ] && [ -z "$$TEST_DATABASE_URL" ]; then \
		echo "CI=true needs TEST_DATABASE_URL (PostgreSQL tests are mandatory in CI)"; exit 1; fi
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
		else echo "TEST_DATABASE_URL not set: PostgreSQL pass not run"; fi

test-sqlite: setup ## The suite on SQLite
	$(BIN)/pytest -m "not postgres" -p no:cacheprovider

test-postgres: setup ## The suite on PostgreSQL (TEST_DATABASE_URL)
	C311_TEST_ON_POSTGRES=1 $(BIN)/pytest -p no:cacheprovider

e2e: setup ## Only the browser tests (real Chromium)
	$(BIN)/pytest -m e2e -p no:cacheprovider

lint: setup ## ruff, formatting, import contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy engine webapp benchmarks tests

bench: setup ## Benchmarks: ratios against raw SpiffWorkflow; fails naming each missed target
	@$(BIN)/python benchmarks/run.py

bench-scale: setup ## The workspace's reads at 10,000 and 1,000,000 made-up cases (p95; PostgreSQL when TEST_DATABASE_URL is set)
	@$(BIN)/python benchmarks/scale.py

faults: setup ## Fault test: private PostgreSQL, gunicorn + worker, kill -9 and a 20 s database stop
	$(BIN)/python tests/faults/run_faults.py

db-upgrade: setup ## Apply migrations to the configured database
	$(FLASK) db-upgrade

db-revision: setup ## New migration: make db-revision m="what changed"
	@test -n "$(m)" || (echo 'usage: make db-revision m="message"'; exit 1)
	$(BIN)/alembic -c alembic.ini revision --autogenerate -m "$(m)"

translations-extract: setup ## Refresh the message catalogue from code and templates
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k _l -o webapp/translations/messages.pot .
	$(BIN)/pybabel -q update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching

clean: ## Remove the virtualenv, node_modules and build output
	rm -rf $(VENV) node_modules test-artifacts
