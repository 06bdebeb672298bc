# Two commands do everything on a fresh machine:
#   make run   — install, then run the bundled suite with the deterministic agent
#   make test  — install, then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/reev run benchmarks/ --agent deterministic

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python scripts/bench_engine.py

clean:
	rm -rf $(VENV) logs .pytest_cache
