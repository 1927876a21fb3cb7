# Footnote: two commands.
#   make run   - set up .venv if needed and start the bot (the console chat when no platform is configured)
#   make test  - set up .venv with the test tools if needed, then ruff and the whole pytest suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The install steps below are the ones the Dockerfile runs too (tests/test_dockerfile.py keeps them equal).
INSTALL_RUN := $(PIP) install --disable-pip-version-check -q -e .
INSTALL_TEST := $(PIP) install --disable-pip-version-check -q -e '.[test]'

.PHONY: run test lint check clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(INSTALL_RUN)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(INSTALL_TEST)
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(PY) -m bot run

test: $(VENV)/.installed-test
	sh scripts/ensure-postgres.sh
	$(VENV)/bin/ruff check bot tests scripts
	$(PY) -m bot kb check
	$(PY) -m pytest -q
	$(PY) -m bot bench --smoke

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
