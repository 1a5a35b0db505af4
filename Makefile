# Every target creates the virtual environment first when it is missing or stale.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast mutate snapshots schema bench bench-scale dashboard lock clean-data

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m jobs.unified_forecast_job --symbols AAPL,MSFT,SPY --horizon 1D

# Every tier (docs/testing.md). Three workers on two cores: much of the suite waits on the processes
# it starts (jobs, servers, Chromium), and a third worker fills those waits; worksteal and the
# long-first order (tests/support/schedule.py) keep every worker busy to the end.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 3 --dist worksteal

# The unit tier alone: no database, no subprocesses (its time: docs/testing.md; the target is 20 s).
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit -n 2 --dist worksteal -q -m "not slow"

snapshots: $(STAMP)
	$(PY) -m tests.support.snapshots --write

# Rewrite sql/schema.sql from a fresh database migrated to the last migration (pg_dump --schema-only).
schema: $(STAMP)
	$(PY) -m tests.support.schema --write

bench: $(STAMP)
	$(PY) -m bench.walk_forward
	$(PY) -m bench.model_sets

bench-scale: $(STAMP)
	$(PY) -m bench.scale

# Mutation testing of the decision code and its queries (docs/testing.md); not part of make test.
mutate: $(STAMP)
	$(PY) -m tests.support.mutate

dashboard: $(STAMP)
	$(PY) -m jobs.dashboard --out reports/dashboard.html

# Re-pin constraints.txt after changing pyproject.toml's dependencies.
lock: $(STAMP)
	{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^ensemble-forecast'; } > constraints.new
	mv constraints.new constraints.txt

clean-data:
	rm -rf .data
