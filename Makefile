# Two commands do everything on a fresh machine:
#   make run   — install, then run the bundled suite with the deterministic agent
#   make test  — install, then run the test suite
# and two check a change quickly: `make lint` (ruff, ruff format, mypy; .ci/run runs it before
# the tests) and `make test-fast` (the tests that need no Chromium, PostgreSQL or Node.js and are
# not marked slow).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install browser postgres run test test-fast lint bench clean node-deps programs clang

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/reev run benchmarks/ --agent deterministic

# Browser tests drive Debian's Chromium through Playwright (it cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The API tests start a real PostgreSQL (initdb + pg_ctl, as the `postgres` user when root);
# Debian puts them in /usr/lib/postgresql/<version>/bin.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the API tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# reev's on-chain programs (src/reev/programs) are compiled by Debian's clang-19 and linked by
# reev's own linker; the built .so files are committed, so only changing a program needs this.
programs: install
	$(BIN)/python -m reev.programs.toolchain.build

# The reproducibility test (tests/programs) rebuilds the programs and compares them byte for byte.
clang:
	@command -v clang-19 >/dev/null 2>&1 || { \
	  echo "installing Debian's clang-19 for the program reproducibility test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang-19 >/dev/null; }

# The Node.js client tests (tests/test_rpc_node.py) drive the RPC server with @solana/web3.js;
# tests/test_solana_agent_kit.py runs examples/solana-agent-kit (its own package.json and lock).
NODE_PACKAGES := tests/node examples/solana-agent-kit
node-deps:
	@for dir in $(NODE_PACKAGES); do \
	  if [ ! -d $$dir/node_modules ]; then \
	    if command -v npm >/dev/null 2>&1; then npm ci --prefix $$dir --no-audit --no-fund || exit 1; \
	    else echo "npm not found: the Node.js tests of $$dir will be skipped"; fi; \
	  fi; \
	done

test: install browser postgres clang node-deps
	$(BIN)/python -m pytest

# The markers are registered in pyproject.toml ([tool.pytest.ini_options]).
FAST := not browser and not postgres and not node and not slow
test-fast: install
	$(BIN)/python -m pytest -m "$(FAST)"

# Configuration in pyproject.toml: [tool.ruff] and [tool.mypy] (which checks src/reev).
LINTED := src tests scripts
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# Every scripts/bench_*.py, one after the other (bench_web drives Chromium); a new script is
# included without editing this file (tests/test_docs_drift.py checks `make -n bench`).
BENCHES := $(sort $(wildcard scripts/bench_*.py))
bench: install browser
	$(foreach script,$(BENCHES),$(BIN)/python $(script) &&) true

clean:
	rm -rf $(VENV) logs .pytest_cache .mypy_cache .ruff_cache
