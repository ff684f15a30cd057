# The series' commands. Each target creates or reuses .venv and installs what it needs,
# so on a fresh machine with Python 3.11 `make figures` and `make test` are the whole set-up.
#
# Learners and authors:  lab · figures · test · bench
# CI (.ci/run) also runs: binder-config · binder-nbval · browser-test
# Those three build their own virtual environments under build/, so .venv keeps exactly the
# Binder pins; browser-test also needs Debian's chromium (apt-get install chromium).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_INSTALL := python -m pip install --quiet --disable-pip-version-check

# Extra arguments for pytest, e.g. `make test PYTEST_ARGS=notebooks` for the notebooks only.
PYTEST_ARGS ?=

BUILD := build
REPO2DOCKER_VENV := $(BUILD)/repo2docker-venv
BINDER_VENV := $(BUILD)/binder-venv
BROWSER_VENV := $(BUILD)/browser-venv

.PHONY: lab figures test bench binder-check binder-config binder-nbval browser-test clean

$(STAMP): requirements.txt binder/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_INSTALL) -r requirements.txt
	$(BIN)/$(PIP_INSTALL) --no-deps -e .
	touch $(STAMP)

# The learner's path: JupyterLab on the notebooks.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The author's path: execute every notebook in place, rewrite figures/ and its index.
figures: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py
	$(BIN)/python scripts/figures_index.py

# pytest over tests/ and strict nbval over every notebook (options in pyproject.toml).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Notebook run times, peak memory and loss throughput, written to bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python bench/run.py

# Binder, checked offline: the configuration repo2docker reads, then the notebooks under
# strict nbval in a new environment built the way Binder builds it.
binder-check: binder-config binder-nbval

# repo2docker --no-build prints the Dockerfile Binder would build; tests/binder asserts on it.
binder-config:
	rm -rf $(REPO2DOCKER_VENV)
	$(PYTHON) -m venv $(REPO2DOCKER_VENV)
	$(REPO2DOCKER_VENV)/bin/$(PIP_INSTALL) -r tests/binder/requirements.txt
	$(REPO2DOCKER_VENV)/bin/python -m pytest -c tests/binder/pytest.ini tests/binder

# A new venv from binder/requirements.txt alone, then binder/postBuild run as Binder runs it
# (with that venv's python first on PATH), then strict nbval over every notebook.
binder-nbval:
	rm -rf $(BINDER_VENV)
	$(PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/$(PIP_INSTALL) -r binder/requirements.txt
	PATH="$(abspath $(BINDER_VENV))/bin:$$PATH" bash binder/postBuild
	$(BINDER_VENV)/bin/python -m pytest notebooks

$(BROWSER_VENV)/.installed: tests/browser/requirements.txt
	rm -rf $(BROWSER_VENV)
	$(PYTHON) -m venv $(BROWSER_VENV)
	$(BROWSER_VENV)/bin/$(PIP_INSTALL) -r tests/browser/requirements.txt
	touch $@

# JupyterLab (from .venv) in headless Chromium: notebook 00 run through the UI, every notebook rendered.
browser-test: $(STAMP) $(BROWSER_VENV)/.installed
	$(BROWSER_VENV)/bin/python -m pytest -c tests/browser/pytest.ini tests/browser

clean:
	rm -rf $(VENV) $(BUILD)
