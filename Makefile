# Two commands set everything up on a fresh machine:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STACK  := $(BIN)/python infra/local/stack.py

.PHONY: setup sdk-js crewai-env iac-tools browser stack run test unit lint stop status bench clean-data

setup: $(VENV)/.installed

# Reinstall when the dependencies change; otherwise reuse the environment. The Python SDK (sdk/python, its own
# distribution) goes into the same environment, editable, with the framework integrations' extras: its tests and the
# examples import them.
$(VENV)/.installed: pyproject.toml sdk/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e 'sdk/python[mcp,langchain,langgraph,openai-agents]'
	touch $@

# The TypeScript SDK's dependencies (npm registry), reinstalled when its lock file changes (tests/e2e/test_sdk_js.py).
SDK_JS := sdk/js
sdk-js: $(SDK_JS)/node_modules/.installed

$(SDK_JS)/node_modules/.installed: $(SDK_JS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the TypeScript SDK's tests need Node.js 20+ and npm" >&2; exit 1; }
	cd $(SDK_JS) && npm ci --no-audit --no-fund
	touch $@

# The CrewAI integration's environment (PyPI): CrewAI 1.15.30 pins mcp<2, openai<3, pyjwt>=2.15 and pydantic<2.13,
# which the server's environment cannot hold, so memstream-client[crewai] gets a virtualenv of its own. Its tests
# run there (tests/e2e/test_crewai.py drives them) and lint type-checks the integration with its mypy.
CREWAI_VENV := .venv-crewai
crewai-env: $(CREWAI_VENV)/.installed

$(CREWAI_VENV)/.installed: sdk/python/pyproject.toml
	test -x $(CREWAI_VENV)/bin/python || $(PYTHON) -m venv $(CREWAI_VENV)
	$(CREWAI_VENV)/bin/pip install --quiet --upgrade pip
	$(CREWAI_VENV)/bin/pip install --quiet -e 'sdk/python[crewai]' 'pytest>=8' 'mypy>=1.11'
	touch $@

# The project's own Go checkers of infra/ (tests/unit/test_helm_chart.py, tests/unit/test_terraform.py), built
# from the Go module proxy into .tools/bin and rebuilt only when their sources change. helmcheck renders the chart
# with Helm's engine and decodes every object into its Kubernetes/KEDA type (first build: a few minutes, ~400 MB
# of modules); tfcheck checks infra/terraform (seconds). GOTOOLCHAIN=local: use the installed Go, never fetch one.
TOOLS := .tools/bin
GO_BUILD = @command -v go >/dev/null || { echo "go not found: the infra checks need Go 1.26+ (modules from its proxy)" >&2; exit 1; }; \
	cd $(<D) && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -trimpath -o $(CURDIR)/$@ .

iac-tools: $(TOOLS)/helmcheck $(TOOLS)/tfcheck

$(TOOLS)/helmcheck: infra/helm/check/go.mod infra/helm/check/go.sum infra/helm/check/main.go
	$(GO_BUILD)

$(TOOLS)/tfcheck: infra/terraform/check/go.mod infra/terraform/check/go.sum $(wildcard infra/terraform/check/*.go)
	$(GO_BUILD)

# The dashboard's browser tests (tests/browser) drive Debian's Chromium through its chromedriver (Selenium from PyPI,
# pinned in pyproject.toml, is pointed at both, so it downloads no driver). Installed from Debian when missing.
browser:
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; }

# Kafka and Neo4j jars from Maven Central, PostgreSQL and Redis from Debian, Milvus Lite from PyPI; then start.
stack: setup
	$(STACK) install
	$(STACK) start

run: setup
	$(BIN)/memstream run

lint: setup crewai-env
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mypy --python-version 3.10 sdk/python/src/memstream_client   # the SDK supports Python 3.10
	$(CREWAI_VENV)/bin/mypy --config-file sdk/python/mypy-crewai.ini   # CrewAI is only installed there
	$(BIN)/lint-imports --no-cache
	@test -z "$$(gofmt -l infra/helm/check infra/terraform/check)" || { gofmt -l infra/helm/check infra/terraform/check; echo "gofmt: the files above are not formatted" >&2; exit 1; }

unit: setup iac-tools
	$(BIN)/python -m pytest tests/unit -q

test: stack lint sdk-js crewai-env iac-tools browser
	$(BIN)/python -m pytest -q -ra

stop:
	$(STACK) stop

status:
	$(STACK) status

bench: stack
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.search
