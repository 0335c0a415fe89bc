# calcwire: everything a fresh clone needs is installed by these targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
PROTO_OUT := .

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The project's own bytecode, compiled ahead as the image does (Dockerfile): with
# PYTHONDONTWRITEBYTECODE set, every `calcwire check` would otherwise compile ~100
# modules from source (about 0.3 s). Stale files are ignored by Python, never wrong.
PACKAGES := calcwire eval_svc import_svc validation_svc gateway

.PHONY: bytecode
bytecode: $(INSTALLED)
	$(PY) -m compileall -q $(PACKAGES)

.PHONY: install
install: $(INSTALLED) $(NODE_INSTALLED) bytecode ## Create .venv and install Python packages and buf

.PHONY: lock
lock: ## Re-resolve requirements.lock from pyproject.toml in a clean virtual environment
	rm -rf .run/lockvenv && $(PYTHON) -m venv .run/lockvenv
	.run/lockvenv/bin/pip install --quiet -e '.[dev]'
	{ head -2 requirements.lock; .run/lockvenv/bin/pip freeze --exclude-editable | grep -v '^calcwire'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

.PHONY: protos
protos: $(INSTALLED) ## Regenerate the Python code of protos/ (it is committed)
	$(PY) tools/protos.py generate

.PHONY: check-protos
check-protos: install ## buf lint and format, and the generated code is current
	$(BUF) lint
	$(BUF) format --diff --exit-code
	$(PY) tools/protos.py check

# The contracts as of this git revision are what a change must stay compatible with.
BREAKING_BASE ?= HEAD~1
.PHONY: check-breaking
check-breaking: install ## buf breaking against BREAKING_BASE (default: the previous commit)
	@if git cat-file -e '$(BREAKING_BASE):protos' 2>/dev/null; then \
	  $(BUF) breaking --against '.git#ref=$(BREAKING_BASE)'; \
	  echo "no breaking change against $(BREAKING_BASE)"; \
	else echo "no contracts at $(BREAKING_BASE): nothing to break"; fi

.PHONY: sample
sample: install ## Write generated sample workbooks to bench-out/ and check the stale one with calcwire check
	$(PY) tools/sample.py bench-out
	$(VENV)/bin/calcwire check bench-out/sample-stale.xlsx || test $$? -eq 1

.PHONY: bench
bench: install ## Throughput and memory on generated models of 1k to 500k formulas, beside formulas.ExcelModel
	$(PY) tools/bench $(BENCH_ARGS)

.PHONY: fidelity-baseline
fidelity-baseline: install ## Record the corpus fidelity figures that the corpus test must not fall below
	$(PY) tools/fidelity.py --write tests/corpus_baseline.json

.PHONY: deploy-check
deploy-check: $(INSTALLED) ## Validate deploy/ offline against the Kubernetes schemas, strictly; renders the overlays when kustomize or kubectl is on PATH
	$(PY) deploy/check.py --quiet

.PHONY: lint
lint: install ## ruff and mypy --strict over the code (generated code excepted)
	$(PY) -m ruff check calcwire import_svc eval_svc validation_svc gateway tests tools
	$(PY) -m mypy calcwire import_svc eval_svc validation_svc gateway

.PHONY: test
test: install postgres-binaries check-protos check-breaking deploy-check lint ## Run the whole test suite (installs what it needs)
	$(PY) -m pytest -q

# ---------------------------------------------------------------- local stack
RUN_DIR ?= .run
STACK_FLAGS ?=

# The stack and the tests run PostgreSQL from the machine's server binaries.
.PHONY: postgres-binaries
postgres-binaries: $(INSTALLED)
	@$(PY) -c 'from calcwire.devstack import postgres_bindir; postgres_bindir()' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing PostgreSQL server binaries (apt-get install postgresql)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	  else \
	    echo "PostgreSQL server binaries (initdb, postgres) not found: install PostgreSQL" >&2; exit 1; \
	  fi; }

.PHONY: up
up: install postgres-binaries ## Start PostgreSQL, NATS and the four services (pids, logs in .run/); wait for SERVING
	$(PY) -m calcwire.devstack up --run-dir $(RUN_DIR) $(STACK_FLAGS)

.PHONY: down
down: ## Stop exactly what `make up` started
	@if [ -x $(PY) ]; then $(PY) -m calcwire.devstack down --run-dir $(RUN_DIR); \
	else echo "no virtual environment: nothing to stop"; fi

.PHONY: status
status: ## Health of each service of the stack `make up` started
	@$(PY) -m calcwire.devstack status --run-dir $(RUN_DIR)

.PHONY: run
run: up ## The main job through the gateway: the stack, a key, a stale sample model, calcwire import with live progress and its summary, a what-if with calcwire calc
	$(PY) tools/main_job.py --run-dir $(RUN_DIR)
