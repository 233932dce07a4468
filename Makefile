# The two set-up commands of the README, and the pieces they are made of.
#   make lab    install codeact-lab in .venv and start JupyterLab with it
#   make test   install the test dependencies and run every test and check
# Both work on a fresh Debian machine with Python 3.10+ and Node 20.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
ENV    := PATH="$(BIN):$$PATH"
JLPM   := $(ENV) $(BIN)/jlpm
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: lab install install-test local-model browser test pytest lint typecheck jstest ui-test clean

lab: install local-model
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	$(BIN)/jupyter server extension list 2>&1 | grep -q "codeact_lab.*OK"
	$(BIN)/jupyter labextension list 2>&1 | grep -q "codeact-lab.*enabled.*OK"

# The embedded local model, used when no endpoint is configured: llama.cpp built portable
# (the wheel is kept in ~/.cache/codeact-lab/wheels, so this is quick the second time) and
# pinned weights.
local-model: $(BIN)/python
	scripts/install-local-model.sh $(BIN)/python

# Editable install with test and dev tools; builds the labextension in place.
install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	cd labextension && $(JLPM) install --immutable && $(JLPM) build:prod
	# Link the built extension into the environment, so rebuilds are live.
	$(ENV) $(BIN)/jupyter labextension develop . --overwrite
	cd ui-tests && $(JLPM) install --immutable

# Debian's Chromium drives the browser tests (Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq chromium fonts-liberation >/dev/null; }

test: install-test local-model browser lint typecheck jstest pytest ui-test

# The frontend's reducer against the Python one (a fixture of events and the record), and its
# notebook cells against the export's (test/fixtures/cells.json).
jstest:
	cd labextension && $(JLPM) test

pytest:
	$(BIN)/python -m pytest

lint:
	$(BIN)/ruff check codeact_lab tests benchmarks
	$(BIN)/ruff format --check codeact_lab tests benchmarks
	cd labextension && $(JLPM) lint:check

typecheck:
	$(BIN)/mypy
	cd labextension && $(JLPM) tsc --noEmit

ui-test:
	cd ui-tests && CI=1 $(JLPM) playwright test

clean:
	rm -rf $(VENV) codeact_lab/labextension labextension/lib labextension/node_modules \
	  ui-tests/node_modules ui-tests/test-results
