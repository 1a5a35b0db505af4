# Every target creates the virtual environment first when it is missing or stale.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test snapshots bench bench-scale dashboard clean-data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m jobs.unified_forecast_job --symbols AAPL,MSFT,SPY --horizon 1D

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

snapshots: $(STAMP)
	$(PY) -m tests.infra.snapshots --write

bench: $(STAMP)
	$(PY) -m bench.walk_forward
	$(PY) -m bench.model_sets

bench-scale: $(STAMP)
	$(PY) -m bench.scale

dashboard: $(STAMP)
	$(PY) -m jobs.dashboard --out reports/dashboard.html

clean-data:
	rm -rf .data
