# Distillery: `make demo` runs the main job, `make test` runs every test.
# Needs only python3 (3.11), pip and make: uv and everything else are installed here.

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Tests start many Python processes: let them reuse compiled modules.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup chromium demo test test-unit test-integration typecheck schemas docs bench bench-full wrk mutate clean stack-up stack-down soak fuzz

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --all-packages --compile-bytecode --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced chromium

# The console's browser tests drive Debian's chromium with Playwright's client (never
# `playwright install`); without it they skip, or fail under CI=true.
chromium:
	@command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| sudo DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| echo "warning: could not install chromium; the console's browser tests will skip (fail under CI=true)"

demo: setup
	$(VENV)/bin/distillery demo

# Two workers (see tests/support/xdist_groups.py for how the tests share the two cores),
# then the `serial` tests alone; both parts always run, and either failing fails the target.
test: setup
	status=0; $(VENV)/bin/pytest -n 2 --dist loadgroup -m "not serial" || status=$$?; \
	$(VENV)/bin/pytest -m serial || status=$$?; exit $$status

# The fast tests, on the same two workers (none of them is `serial`): about 1.5 minutes on two cores.
test-unit: setup
	$(VENV)/bin/pytest -n 2 --dist loadgroup -m "not integration and not e2e"

test-integration: setup
	$(VENV)/bin/pytest -m "integration or e2e"

# The chaos soak in full (about 10 minutes): the whole loop while services are SIGKILLed,
# PostgreSQL restarts and bad records arrive; `make test` runs a 3-minute version of it.
soak: setup
	DISTILLERY_SOAK_SECONDS=360 $(VENV)/bin/pytest -q -s --timeout 900 tests/e2e/test_chaos_soak.py

# The property-based and schema-driven fuzzers alone (they run inside `make test` too).
fuzz: setup
	$(VENV)/bin/pytest -q -m fuzz */tests/test_fuzz_*.py services/*/tests/test_fuzz_*.py \
		sandbox/tests/test_schemathesis_*.py tests/integration/test_routing_api_schemathesis.py

# The one shape's type check alone (tests/test_shape.py runs it inside `make test` too).
typecheck: setup
	$(VENV)/bin/pytest -q tests/test_shape.py

schemas: setup
	$(VENV)/bin/python -m distillery_contracts.schemagen

# The README's configuration reference, from the settings classes' descriptions.
docs: setup
	$(VENV)/bin/distillery config docs --readme README.md

# Every benchmark, one table of figures against their targets, JSON in bench-results/
# (latest.json and one file per run, to compare commits). HTTP load comes from wrk.
bench: setup wrk
	$(VENV)/bin/python tests/bench/run_all.py

bench-full: setup wrk
	$(VENV)/bin/python tests/bench/run_all.py --full

wrk:
	@command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk

# Mutation score of the decisions that guard users, per module (not part of `make test`:
# minutes of CPU). Survivors known to be equivalent are explained in docs/mutation.md.
mutate: setup
	$(VENV)/bin/python tools/mutate.py

stack-up: setup
	$(VENV)/bin/distillery stack up

stack-down: setup
	$(VENV)/bin/distillery stack down

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
