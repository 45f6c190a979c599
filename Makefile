# Two commands do all set-up on a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint postgres bench clean

$(STAMP): pyproject.toml packaging/system-packages.sh
	bash packaging/system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,station,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/packline demo

postgres:
	bash packaging/ensure-postgres.sh

test: $(STAMP) postgres
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP) postgres
	$(PY) bench/allocation.py
	$(PY) bench/intake.py
	$(PY) bench/journal.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/scan_latency.py
	$(PY) bench/rate_shop.py
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
