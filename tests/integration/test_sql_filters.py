"""Every WHERE term of the queries behind the review, the gate, the daily checks, resume and retirement matters.

Resume's terms include those of the task-claim functions the queries call (``filter_tasks``:
the term is in the function's body, and dropping it re-creates the function without it).

For each term a scenario seeds a row the term must exclude next to one it must let through
(``tests.support.filter_review`` and ``filter_jobs``), and ``test_each_where_term_filters``
asserts the query's result. ``test_dropping_any_term_breaks_its_case`` proves each of those
tests sharp: it runs the query with that one term dropped (``tests.support.sql_terms.drop_term``,
on the text in memory) on the same rows, and the result must differ from the real query's and
break that term's case. One migrated database for the module; each scenario's rows are rolled back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest

from jobs.storage.db import load_sql, migrate
from tests.support.filter_index import SCENARIOS
from tests.support.fixtures import scratch_database
from tests.support.sql_filters import Filter, Outcomes, outcomes
from tests.support.sql_routines import routines
from tests.support.sql_terms import where_terms
from tests.support.stacks import ROOT

CASES = [(name, i) for name, s in SCENARIOS.items() for i in range(len(s.filters))]
# The modules whose queries this file covers: the review, the gate, the daily checks, resume and retirement.
CALLERS = ("jobs/rollout/data.py", "jobs/rollout/gate.py", "jobs/rollout/daily.py", "jobs/storage/forecasts.py",
           "jobs/monitoring/runs.py", "jobs/storage/tasks.py")


def loaded_queries() -> set[str]:
    """The named queries the callers run: ``load_sql("x")``, the review's ``rows("x")`` and the daily checks' names."""
    text = "\n".join((ROOT / path).read_text() for path in CALLERS)
    names = set(re.findall(r'(?:load_sql|rows)\("(\w+)"', text))
    daily = re.search(r"names = \(([^)]*)\)", (ROOT / "jobs/rollout/daily.py").read_text())
    return names | set(re.findall(r'"(\w+)"', daily.group(1) if daily else ""))


@pytest.fixture(scope="module")
def filter_db(pg_server_url: str) -> Iterator[str]:
    """One migrated database for every scenario (each seeds and rolls back its own rows)."""
    with scratch_database(pg_server_url, "filters") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def results(filter_db: str) -> functools.partial[Outcomes]:
    """The outcomes of each scenario, computed once per module."""
    return functools.cache(lambda name: outcomes(filter_db, SCENARIOS[name]))  # type: ignore[return-value]


def _case(name: str, i: int) -> Filter:
    return SCENARIOS[name].filters[i]


def test_every_where_term_has_its_case() -> None:
    for name, scenario in SCENARIOS.items():
        terms = scenario.terms
        assert [f.term for f in scenario.filters] == terms, (
            f"{name}: one Filter per WHERE term, in text order; the query's terms are {terms}")


def test_every_query_the_callers_load_is_covered() -> None:
    loaded = loaded_queries()
    assert {"review_window_stats", "gate_phase_runs", "canary_divergence_summary",
            "retire_unlisted_symbols", "claim_task", "symbols_with_bars"} <= loaded
    uncovered = sorted(q for q in loaded - set(SCENARIOS) if where_terms(load_sql(q)))
    assert not uncovered, f"queries with WHERE terms and no filter scenario: {uncovered}"


def test_every_function_of_the_migrations_with_where_terms_is_covered_through_the_query_that_calls_it() -> None:
    covered = {s.routine: s.query for s in SCENARIOS.values() if s.routine}
    with_terms = {name for name, r in routines().items() if where_terms(r.body, many=True)}
    assert with_terms == {"claim_forecast_task", "finish_forecast_task", "unpublish_forecast_task"}
    assert set(covered) == with_terms
    for name, query in covered.items():  # the scenario's query really is the call of its function
        assert re.search(rf"\b{name}\(", load_sql(query)), f"{query}.sql does not call {name}"
    migrations = "".join(r.migration.read_text() for r in {r.migration: r for r in routines().values()}.values())
    assert migrations.count("CREATE FUNCTION") == len(routines()), "a function the routine parser does not see"


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, s in SCENARIOS.items() for i in range(len(s.also))])
def test_beyond_the_terms(results: functools.partial[Outcomes], name: str, i: int) -> None:
    case = SCENARIOS[name].also[i]
    problems = case.violations(results(name).real)
    assert not problems, f"{name} ({case.term}; {case.why}): {problems}"


@pytest.mark.parametrize(("name", "i"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_each_where_term_filters(results: functools.partial[Outcomes], name: str, i: int) -> None:
    case = _case(name, i)
    problems = case.violations(results(name).real)
    assert not problems, f"{name} term {i} ({case.term}; {case.why}): {problems}"


@pytest.mark.parametrize(("name", "i"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_dropping_any_term_breaks_its_case(results: functools.partial[Outcomes], name: str, i: int) -> None:
    case = _case(name, i)
    out = results(name)
    assert sorted(map(repr, out.dropped[i])) != sorted(map(repr, out.real)), (
        f"{name}: dropping term {i} ({case.term}) changes nothing on the seeded rows")
    assert case.violations(out.dropped[i]), (
        f"{name}: with term {i} ({case.term}) dropped, its case ({case.why}) still passes: the test is not sharp")
