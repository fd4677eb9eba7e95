# regionflow: `make test` (lint, types, tests) and `make bench`; the venv is created on first use.
# Python 3.13 is Lambda's runtime (python3.13, Amazon Linux 2023): handlers, tests and localcloud's
# workers run on it. Found on PATH or in pyenv; `make PYTHON=/path/to/python3.13` picks another.
is_python313 = $(shell $(1) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && echo $(1))
PYTHON ?= $(firstword $(foreach candidate,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13),$(call is_python313,$(candidate))))
VENV := venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MUTATE_STAMP := $(VENV)/.mutate-installed

.PHONY: test lint typecheck unit browser awscli bench demo mutate clean

# The browser tests drive Debian's chromium through chromedriver (headless); installed once, as root or
# through sudo. CHROMIUM/CHROMEDRIVER name other binaries.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
# The aws CLI README's examples use (tests/e2e/test_cli.py runs them): its own venv, see
# requirements-awscli.txt.
AWSCLI_VENV := build/awscli
AWSCLI_STAMP := $(AWSCLI_VENV)/.installed
# pytest's workers (pytest-xdist): each takes whole test modules, so a module's localcloud stays in one
# process (moto's state is per process). PYTEST_WORKERS=0 runs everything in pytest's own process.
# Three on two cores: the e2e modules leave a core idle while they wait on the emulator, and a third worker
# fills it (the whole suite, one hour: 459 s with two, 371 s with three, ~700 CPU-s either way).
PYTEST_WORKERS ?= 3
# Where `make test` keeps mypy's report while the suite runs.
TYPECHECK_LOG ?= build/typecheck.log

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

$(AWSCLI_STAMP): requirements-awscli.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (e.g. pyenv install 3.13) or pass PYTHON=..."; exit 1; }
	$(PYTHON) -m venv --clear $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet -r requirements-awscli.txt
	touch $(AWSCLI_STAMP)

awscli: $(AWSCLI_STAMP)

unit: $(STAMP) browser $(AWSCLI_STAMP)
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) AWS_CLI=$(abspath $(AWSCLI_VENV))/bin/aws \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# mypy runs beside the suite, niced, on what the e2e tests leave idle while they wait on the emulator (a
# sixth of two cores): in sequence it added ~35 s to `make test`. Its report follows the suite's; either
# failing fails the target.
test: lint
	@mkdir -p $(dir $(TYPECHECK_LOG))
	@nice -n 10 $(BIN)/mypy > $(TYPECHECK_LOG) 2>&1 & typecheck=$$!; \
	$(MAKE) --no-print-directory unit; suite=$$?; \
	wait $$typecheck; types=$$?; \
	echo "$(BIN)/mypy (beside the suite)"; cat $(TYPECHECK_LOG); \
	test $$suite -eq 0 -a $$types -eq 0

bench: $(STAMP)
	@for module in $(basename $(notdir $(wildcard bench/*_bench.py))) batch_cost; do echo "== bench.$$module"; $(BIN)/python -m bench.$$module || exit 1; done

# The mutation score of the pure logic (issue 20; scripts/mutate.py, [tool.mutmut] in pyproject.toml): a
# benchmark-like job, not part of make test. nice: it keeps both cores busy for several minutes.
$(MUTATE_STAMP): $(STAMP) requirements-mutate.txt
	$(BIN)/python -m pip install --quiet -r requirements-mutate.txt
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	nice $(BIN)/python -m scripts.mutate

clean:
	rm -rf $(VENV) build mutants .mypy_cache .pytest_cache .ruff_cache

demo: $(STAMP)
	$(BIN)/python -m demos
