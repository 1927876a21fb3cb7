# Footnote: two commands.
#   make run   - set up .venv if needed and start the bot (the console chat when no platform is configured)
#   make test  - set up .venv with the test tools (and Debian's chromium for the browser tests) if needed,
#                then ruff and the whole pytest suite
#   make docker-check - build the image and run the README's Docker commands (needs a Docker daemon; not in test)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INSTALL_RUN := $(PIP) install --disable-pip-version-check -q -e .
INSTALL_TEST := $(PIP) install --disable-pip-version-check -q -e '.[test]'

.PHONY: run test lint check clean docker-check

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
	sh scripts/ensure-chromium.sh
	sh scripts/ensure-postgres.sh
	$(VENV)/bin/ruff check bot tests scripts
	$(PY) -m bot kb check
	$(PY) -m pytest -q
	$(PY) -m bot bench --smoke

docker-check:
	scripts/docker-check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
