# Two commands matter: `make dev` runs the platform locally, `make test` runs every check. Both install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled

.PHONY: install dev test lint typecheck unit integration flows infra browser tracker console bench schemas openapi synth clean

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Runtime packages beyond the Powertools layer, built for Lambda (arm64, CPython 3.12) for `cdk synth/deploy`.
LAYER_STAMP := build/layer/.installed
$(LAYER_STAMP): infra/layer/requirements.txt $(PY_STAMP)
	rm -rf build/layer && mkdir -p build/layer/python
	$(BIN)/pip install --quiet --no-deps --target build/layer/python --implementation cp --python-version 3.12 \
		--platform manylinux2014_aarch64 --only-binary=:all: -r infra/layer/requirements.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(PY_STAMP) $(NODE_STAMP) $(LAYER_STAMP) console

# The marketer's console (web/console, TypeScript): type-checked, then built by Vite into build/console, which the
# local cloud serves at /console/ and the CDK stack deploys behind CloudFront. Rebuilt when a source changes.
CONSOLE_STAMP := build/console/index.html
CONSOLE_SOURCES := $(shell find web/console -type f 2>/dev/null)
console: $(CONSOLE_STAMP)
$(CONSOLE_STAMP): $(NODE_STAMP) $(CONSOLE_SOURCES)
	node_modules/.bin/tsc -p web/console
	node_modules/.bin/vite build --config web/console/vite.config.mts --logLevel warn

dev: $(PY_STAMP) console
	$(BIN)/python -m infra.local $(if $(filter-out 0,$(DEMO)),--demo)

lint: $(PY_STAMP)
	$(BIN)/ruff format --check services infra tests bench
	$(BIN)/ruff check services infra tests bench

typecheck: $(PY_STAMP)
	$(BIN)/mypy services infra

test: install browser lint typecheck
	$(BIN)/pytest -q -n 2 --dist loadfile

# Headless Chromium for tests/browser: Debian's package (Playwright's own browser download does not work here).
# Quiet and instant when installed; without root it only warns, and tests/browser then fail saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		echo "make browser: could not install Chromium (needs root and apt-get); tests/browser will fail" >&2

# The minified tracker served at GET /v1/tracker.js (source: web/tracker/tracker.js; a test checks it is current).
tracker: $(NODE_STAMP)
	node web/tracker/build.mjs

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

synth: install console  # the stack deploys build/console (without it: a placeholder page)
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache
