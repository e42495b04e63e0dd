# The two commands of the README:
#   make run   - set up .venv and run the whole chapter (both parts, full data)
#   make test  - set up (or reuse) .venv and run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test scripts

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/installed
	$(PY) ch16_part1.py
	$(PY) ch16_part2.py

test: $(VENV)/installed
	$(PY) -m pytest

# Regenerate the .py scripts from the notebooks.
scripts: $(VENV)/installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./convert_notebooks.sh
