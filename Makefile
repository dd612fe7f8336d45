# Two commands do everything on a fresh machine (Python >= 3.10 with venv):
#   make demo   the emulator and the demo, no Tableau server needed
#   make test   the whole suite: ruff, mypy, unit, integration (TSC, Redis), reliability
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean tabcmd

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

test: lint typecheck
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks --record

# tabcmd pins an older tableauserverclient: it gets a venv of its own (tests/proxy use it)
tabcmd: .venv-tabcmd/bin/tabcmd
.venv-tabcmd/bin/tabcmd:
	$(PYTHON) -m venv .venv-tabcmd
	.venv-tabcmd/bin/python -m pip install --quiet tabcmd

clean:
	rm -rf $(VENV) .venv-tabcmd .pytest_cache .mypy_cache .ruff_cache
