# Gridwise: `make run` starts the app on a demo district; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
STAMP  := $(VENV)/.installed
APT_PACKAGES := chromium fonts-wqy-microhei libatomic1 haproxy

.PHONY: run api test check install browser-deps migrate seed-demo scheduler bench lint format clean

install: $(STAMP)

# Reinstall when the dependency list changes. pip compiles bytecode on install, which keeps
# `import streamlit` fast on machines that set PYTHONDONTWRITEBYTECODE.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

migrate: install
	$(BIN)/gridwise migrate

# Demo or production (core.instance): on the embedded SQLite default (GRIDWISE_DATABASE_URL unset) `make run`
# is a demo instance and opens on the demo district; on any other database it is a production instance unless
# GRIDWISE_DEMO=true is set. A production instance starts from `gridwise create-admin NAME` (README).
DEMO := $(or $(GRIDWISE_DEMO),$(if $(GRIDWISE_DATABASE_URL),false,true))
export GRIDWISE_DEMO := $(DEMO)

seed-demo: migrate
	$(BIN)/gridwise seed-demo --if-empty

# Seeds the demo district into an empty database in demo mode only; a production instance just starts.
run: migrate
	$(if $(filter true 1 yes,$(DEMO)),$(BIN)/gridwise seed-demo --if-empty,)
	$(if $(API),$(BIN)/gridwise api --host 0.0.0.0 --port $(API_PORT) & ,)$(BIN)/python -m streamlit run ui/server.py --server.port $(PORT) --server.address 0.0.0.0

# The JSON API for other systems (FastAPI, its own process): `make api` beside `make run`, or both at once
# with `make run API=1`. API_PORT defaults to 8600; docs at http://localhost:8600/api/v1/docs. Seeds nothing
# (`make seed-demo api` to seed the demo first).
API_PORT ?= 8600
api: migrate
	$(BIN)/gridwise api --host 0.0.0.0 --port $(API_PORT)

# More than one Streamlit process: REPLICAS (default 2) behind HAProxy on CLUSTER_PORT (default 8080), plus one
# scheduler process; migrates, and seeds the demo district only when asked (GRIDWISE_DEMO=true). PostgreSQL only (GRIDWISE_DATABASE_URL,
# refused with a message on SQLite); deploy/README.md has the production layout.
cluster: install browser-deps
	REPLICAS=$(or $(REPLICAS),2) CLUSTER_PORT=$(or $(CLUSTER_PORT),8443) CLUSTER_HTTP_PORT=$(or $(CLUSTER_HTTP_PORT),8080) $(BIN)/python -m deploy.cluster

scheduler: migrate
	GRIDWISE_SCHEDULER_ENABLED=false $(BIN)/gridwise scheduler

# Debian's Chromium and a CJK font for the browser tests, installed only when missing.
browser-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The house rules are checked before the tests: lint, types, and the suite, which holds the architecture
# test (tests/unit/test_layering.py). Any failure fails `make test` (and so .ci/run).
test: install browser-deps check
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup $(PYTEST_ARGS)

# Lint and format (ruff), then types: zero errors in core/, courses/, evaluation/ and api/ (pyproject.toml [tool.mypy]; no module is exempt).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run_all.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache test-results
