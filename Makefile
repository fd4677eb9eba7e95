# regionflow: `make test` (lint, types, tests) and `make bench`; the venv is created on first use.
# Python 3.13 is Lambda's runtime (python3.13, Amazon Linux 2023): handlers, tests and localcloud's
# workers run on it. Found on PATH or in pyenv; `make PYTHON=/path/to/python3.13` picks another.
is_python313 = $(shell $(1) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && echo $(1))
PYTHON ?= $(firstword $(foreach candidate,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13),$(call is_python313,$(candidate))))
VENV := venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit browser bench demo clean

# The browser tests drive Debian's chromium through chromedriver (headless); installed once, as root or
# through sudo. CHROMIUM/CHROMEDRIVER name other binaries.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)

$(STAMP): requirements.txt requirements-dev.txt handlers/requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (e.g. pyenv install 3.13) or pass PYTHON=..."; exit 1; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || rm -rf $(VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

browser:
	@test -x $(CHROMIUM) -a -x $(CHROMEDRIVER) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }
	@$(CHROMEDRIVER) --version

unit: $(STAMP) browser
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	@for module in $(basename $(notdir $(wildcard bench/*_bench.py))) batch_cost; do echo "== bench.$$module"; $(BIN)/python -m bench.$$module || exit 1; done

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache

demo: $(STAMP)
	$(BIN)/python -m demos
