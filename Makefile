# Two commands do everything on a fresh machine (Python >= 3.10 with venv):
#   make demo   the emulator and the demo, no Tableau server needed
#   make test   the whole suite: ruff, mypy, unit, integration (TSC, Redis), reliability
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean test-tsc-versions tabcmd soak fuzz

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[all]" --group dev
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tabsession demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

test: lint typecheck tabcmd
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-tsc-versions

# The TSC integration against other tableauserverclient releases, one venv each (.venv-tsc-V).
# The latest release is what `make test` already runs; the oldest supported is 0.30.
TSC_VERSIONS ?= 0.30
test-tsc-versions:
	@set -e; for v in $(TSC_VERSIONS); do \
	  test -x .venv-tsc-$$v/bin/python || $(PYTHON) -m venv .venv-tsc-$$v; \
	  .venv-tsc-$$v/bin/python -m pip install --quiet -e ".[emulator]" "tableauserverclient==$$v" hypothesis \
	    pytest pytest-timeout; \
	  echo "== tableauserverclient $$v"; \
	  .venv-tsc-$$v/bin/python -m pytest -q -p no:cacheprovider tests/clients/test_tsc_keep_signed_in.py; \
	done

# The chaos soak for longer than make test's run: make soak DURATION=600 (seconds)
DURATION ?= 600
soak: $(STAMP)
	TABSESSION_CHAOS_SECONDS=$(DURATION) $(BIN)/python -m pytest -q -p no:cacheprovider tests/reliability/test_chaos.py

# The fuzzers and property tests with random seeds and 20x the examples (tests/conftest.py)
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=3600 tests/fuzz tests/unit/test_manager_properties.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks --record

# tabcmd pins an older tableauserverclient: it gets a venv of its own (tests/proxy use it)
tabcmd: .venv-tabcmd/bin/tabcmd
.venv-tabcmd/bin/tabcmd:
	$(PYTHON) -m venv .venv-tabcmd
	.venv-tabcmd/bin/python -m pip install --quiet tabcmd

clean:
	rm -rf $(VENV) .venv-tsc-* .venv-tabcmd .pytest_cache .mypy_cache .ruff_cache
