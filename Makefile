# The series' commands. Each target creates or reuses .venv and installs what it needs,
# so on a fresh machine with Python 3.11 `make figures` and `make test` are the whole set-up.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab figures test bench clean

$(STAMP): requirements.txt binder/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The learner's path: JupyterLab on the notebooks.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The author's path: execute every notebook in place and rewrite figures/.
figures: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py

# pytest over tests/ and strict nbval over every notebook (options in pyproject.toml).
test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV)
