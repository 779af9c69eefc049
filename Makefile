# Two commands matter: `make dev` runs the platform locally, `make test` runs every check. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled

.PHONY: install dev test lint typecheck unit integration flows infra bench schemas openapi synth clean

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(PY_STAMP) $(NODE_STAMP)

dev: $(PY_STAMP)
	$(BIN)/python -m infra.local $(if $(filter-out 0,$(DEMO)),--demo)

lint: $(PY_STAMP)
	$(BIN)/ruff format --check services infra tests bench
	$(BIN)/ruff check services infra tests bench

typecheck: $(PY_STAMP)
	$(BIN)/mypy services infra

test: install lint typecheck
	$(BIN)/pytest -q -n 2 --dist loadfile

unit: $(PY_STAMP)
	$(BIN)/pytest -q tests/unit
integration: $(PY_STAMP)
	$(BIN)/pytest -q tests/integration
flows: $(PY_STAMP)
	$(BIN)/pytest -q tests/flows
infra: install
	$(BIN)/pytest -q tests/infra

bench: $(PY_STAMP)
	$(BIN)/python -m bench $(ARGS)

schemas: $(PY_STAMP)
	$(BIN)/python -m services.common.contracts.schemas
openapi: $(PY_STAMP)
	$(BIN)/python -m infra.openapi

synth: install
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
