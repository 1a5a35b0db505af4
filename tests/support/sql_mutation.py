"""A small SQL mutation pass: does some test fail when a query's filter or comparison changes?

No maintained tool mutates SQL, so this one does the two edits that matter for the rollout's
queries, one at a time: flip a comparison (``=``/``<>``, ``<``/``<=``, ``>``/``>=``,
``IS NULL``/``IS NOT NULL``) and drop one ``AND`` term of a ``WHERE`` (it becomes ``TRUE``), in
the named queries and in the bodies of the claim functions of migration 20261204_22 (the terms
are ``tests.support.sql_terms``'s, the functions ``tests.support.sql_routines``'s).
Each mutant first meets its query's filter scenario (``tests.support.sql_filters``, in this
process); one that survives it is run against the tests of its query family (``FAMILIES``) in a
throw-away copy of the checkout, so the real files are never edited and a job started as a
subprocess reads the mutant too; a failing test kills it.

The queries are found through the project's own path helper (``queries_dir``), wherever it puts
them. ``python -m tests.support.sql_mutation [--jobs N] [QUERY ...]`` runs the pass alone
against a scratch server; ``make mutate`` runs it after mutmut (``tests.support.mutate``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

from jobs.sql import queries_dir, sql_dir
from tests.support.filter_index import scenario_for
from tests.support.fixtures import SERVER_URL_ENV, TEMPLATE_DB, make_template, scratch_database, start_scratch_server
from tests.support.sql_filters import result_with
from tests.support.sql_routines import routine
from tests.support.sql_terms import FLIPS, Span, comparison_spans, null_test_spans, term_spans

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Family:
    """Queries (and functions of the migrations) and the tests that give them a reason to be right."""

    queries: tuple[str, ...]
    tests: tuple[str, ...]
    routines: tuple[str, ...] = ()


# The tests of each family (the review, the gate, resume, retirement), quickest first: pytest stops
# at the first failure. Every mutant first meets its own filter scenario (``by_scenario``, well under
# a second); only a survivor of that runs the family's tests. The review's are the ones over
# planted rows; its end-to-end runs (test_rollout_job_rows, test_symbol_retirement) would cost a
# job run per surviving mutant.
REVIEW_TESTS = ("tests/integration/test_rollout_review.py", "tests/integration/test_promotion_gate.py",
                "tests/integration/test_rollout_story.py")
FAMILIES: dict[str, Family] = {
    "review": Family(("review_alert_storms", "review_baseline_rmse", "review_failures", "review_forecast_counts",
                      "review_inconsistent_forecasts", "review_logging_gaps", "review_missing_forecasts",
                      "review_window_stats"), REVIEW_TESTS),
    "gate": Family(("gate_phase_runs",), ("tests/integration/test_promotion_gate.py",
                                          "tests/integration/test_rollout_story.py")),
    # Resume is the task claims of issue 22 (jobs/storage/tasks.py); their terms are mostly in the
    # SECURITY DEFINER functions of migration 20261204_22.
    "resume": Family(("claim_task", "release_task", "run_last_attempt", "finish_task", "unpublish_task",
                      "run_finished_tasks", "symbols_with_bars"),
                     ("tests/integration/test_claim_keys.py", "tests/integration/test_resume_faults.py",
                      "tests/integration/test_resume.py", "tests/integration/test_exactly_once.py",
                      "tests/integration/test_unknown_symbols.py"),
                     ("claim_forecast_task", "finish_forecast_task", "unpublish_forecast_task")),
    "retirement": Family(("retire_unlisted_symbols", "retired_symbols"), ("tests/integration/test_symbol_retirement.py",
                                                                         "tests/integration/test_daily_checks.py")),
}
# What a copy of the checkout leaves out: environments, history, caches and run output.
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "mutants", ".data", "reports", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "*.egg-info", "build")
TIMEOUT_S = 900


@dataclass(frozen=True)
class SqlMutant:
    """One edit of one query or function: what changed (for the report) and its file's whole new text."""

    query: str  # the query, or the function of a migration, that was edited
    change: str
    text: str  # the edited file's new text
    path: str  # the edited file, relative to the sql folder ("queries/x.sql", "migrations/y.sql")
    edited: str  # the query's new text, or the function's new body

    @property
    def routine(self) -> bool:
        """Whether the edit is in a function of a migration (the migrated template does not hold it)."""
        return self.path.startswith("migrations/")


@dataclass(frozen=True)
class Outcome:
    """A mutant's fate: ``killed`` (a test failed), ``survived`` or ``error`` (pytest could not run)."""

    mutant: SqlMutant
    status: str
    seconds: float


def edits_of(text: str, many: bool = False) -> list[tuple[int, str, str]]:
    """Every comparison flip, ``IS [NOT] NULL`` flip and dropped ``WHERE`` term of ``text``, each alone.

    Returns (line, change, new text) in text order; ``many`` for a function body of several statements.
    """
    edits: list[tuple[int, int, str, str]] = []  # (start, end, replacement, change)
    for span in comparison_spans(text, many):
        edits.append((span.start, span.end, FLIPS[span.text], f"{_context(text, span)}: {span.text} -> {FLIPS[span.text]}"))
    for span in null_test_spans(text, many):
        new = "NULL" if span.clean == "NOT NULL" else "NOT NULL"
        edits.append((span.start, span.end, new, f"{_context(text, span)}: IS {span.clean} -> IS {new}"))
    for span in term_spans(text, many):
        edits.append((span.start, span.end, "TRUE", f"term dropped: {span.clean}"))
    return [(text[:start].count("\n") + 1, change, text[:start] + new + text[end:])
            for start, end, new, change in sorted(edits, key=lambda e: (e[0], e[1]))]


def _context(text: str, span: Span) -> str:
    """The few words around ``span``, on one line, to name a comparison in the report."""
    return " ".join([*text[:span.start].split()[-2:], "_", *text[span.end:].split()[:2]])


def mutants_of(query: str, text: str) -> list[SqlMutant]:
    """Every mutant of the named query ``query`` whose file holds ``text``."""
    return [SqlMutant(query, f"line {line}, {change}", new, f"queries/{query}.sql", new)
            for line, change, new in edits_of(text)]


def routine_mutants(name: str) -> list[SqlMutant]:
    """Every mutant of the body of the migrations' function ``name``, as its migration's new text."""
    found = routine(name)
    first = found.text[:found.body_start].count("\n")
    return [SqlMutant(name, f"{found.migration.name} line {first + line}, {change}", found.migration_with(body),
                      f"migrations/{found.migration.name}", body)
            for line, change, body in edits_of(found.body, many=True)]


def family_mutants(names: Sequence[str]) -> list[tuple[SqlMutant, tuple[str, ...]]]:
    """Each mutant of the named queries and functions (all of ``FAMILIES`` when empty) with its family's tests."""
    found = queries_dir()
    known = [q for f in FAMILIES.values() for q in (*f.queries, *f.routines)]
    unknown = set(names) - set(known)
    if unknown:
        raise ValueError(f"unknown queries {sorted(unknown)}; the pass covers: {', '.join(known)}")
    chosen = []
    for family in FAMILIES.values():
        for query in family.queries:
            if not names or query in names:
                chosen += [(m, family.tests) for m in mutants_of(query, (found / f"{query}.sql").read_text())]
        for name in family.routines:
            if not names or name in names:
                chosen += [(m, family.tests) for m in routine_mutants(name)]
    return chosen


def checkout_copy(into: Path) -> Path:
    """A copy of the checkout under ``into`` whose ``jobs.sql`` is its own ``sql/``; returns that folder.

    The editable install maps ``jobs.sql`` onto the checkout's ``sql/`` (pyproject's ``package-dir``),
    so a copy's ``jobs`` would still read the checkout's queries: a link ``jobs/sql`` in the copy
    is found first (pytest runs from the copy) and leads to the copy's own.
    """
    found = sql_dir().resolve()
    try:
        relative = found.relative_to(ROOT)
    except ValueError:
        raise ValueError(f"the sql folder {found} is outside the checkout {ROOT}: install the project "
                         "editable (pip install -e .) so the mutants can be placed in a copy") from None
    shutil.copytree(ROOT, into, ignore=NOT_COPIED, symlinks=True)
    (into / "jobs" / "sql").symlink_to(Path("..") / relative, target_is_directory=True)
    return into / relative


def run_tests(copy: Path, tests: Sequence[str], env: dict[str, str]) -> tuple[int, float]:
    """pytest over ``tests`` in the copy, stopping at the first failure; (exit status, seconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return done.returncode, time.perf_counter() - started


def by_scenario(url: str, mutants: Sequence[SqlMutant]) -> dict[SqlMutant, bool]:
    """Whether each mutant breaks its filter scenario: the check of test_sql_filters, run in this process.

    Each mutant's text replaces its query (or its function, re-created in a transaction that is
    rolled back) on the scenario's rows: a fraction of a second, against a pytest session's
    seconds. The unmutated texts must pass first.
    """
    out = {}
    with scratch_database(url, "sqlpass", template=TEMPLATE_DB) as db:
        for scenario in {s.query: s for m in mutants if (s := scenario_for(m.query))}.values():
            if problems := scenario.violations(result_with(db, scenario, scenario.sql)):
                raise RuntimeError(f"the unmutated {scenario.query} fails its filter scenario: {problems}")
        for m in mutants:
            scenario = scenario_for(m.query)
            out[m] = scenario is not None and bool(scenario.violations(result_with(db, scenario, m.edited)))
    return out


def run_pass(server_url: str, names: Sequence[str] = (), jobs: int = 1) -> list[Outcome]:
    """Judge every mutant by its filter scenario, then run the survivors' family tests (``jobs`` at a time).

    A survivor's tests run in a copy of the checkout with the mutant written in, one copy per job;
    each family's tests are first run unmutated (they must pass). A function's mutant is in its
    migration, which the shared server's migrated template predates: its family's tests then
    start their own server and migrate the copy (slower, and rare).
    """
    mutants = family_mutants(names)
    started = time.perf_counter()
    caught = by_scenario(server_url, [m for m, _ in mutants])
    outcomes = [Outcome(m, "killed", 0.0) for m, _ in mutants if caught[m]]
    print(f"  {len(outcomes)} of {len(mutants)} mutants break their filter scenario "
          f"({time.perf_counter() - started:.0f} s); the family tests judge the rest", flush=True)
    rest = [(m, t) for m, t in mutants if not caught[m]]
    if not rest:
        return outcomes
    env = {**os.environ, SERVER_URL_ENV: server_url, "PYTHONDONTWRITEBYTECODE": "1"}
    with ExitStack() as stack:
        folders = [Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sql-mutant-"))) for _ in range(jobs)]
        copies: Queue[tuple[Path, Path]] = Queue()
        for folder in folders:
            copies.put((folder / "checkout", checkout_copy(folder / "checkout")))
        baseline_copy, _ = copies.queue[0]
        for tests in sorted({t for _, t in rest}):
            if run_tests(baseline_copy, tests, env)[0] != 0:
                raise RuntimeError(f"the unmutated queries fail their own tests ({' '.join(tests)}): fix that first")

        def one(item: tuple[SqlMutant, tuple[str, ...]]) -> Outcome:
            mutant, tests = item
            copy, sql = copies.get()
            target = sql / mutant.path
            original = target.read_text()
            try:
                target.write_text(mutant.text)
                own = {k: v for k, v in env.items() if k != SERVER_URL_ENV} if mutant.routine else env
                status, seconds = run_tests(copy, tests, own)
            finally:
                target.write_text(original)
                copies.put((copy, sql))
            fate = {0: "survived", 1: "killed"}.get(status, "error")
            print(f"  {fate:8} {mutant.query}: {mutant.change} ({seconds:.0f} s)", flush=True)
            return Outcome(mutant, fate, seconds)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return outcomes + list(pool.map(one, rest))


def kill_rates(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, int]]:
    """(killed, judged) per query; mutants pytest could not run are left out of both."""
    rates: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        killed, judged = rates.get(o.mutant.query, (0, 0))
        if o.status != "error":
            rates[o.mutant.query] = (killed + (o.status == "killed"), judged + 1)
    return rates


def report(outcomes: Sequence[Outcome]) -> str:
    """Kill rate per query, then every survivor and every mutant that could not be judged."""
    lines = ["SQL mutation pass: kill rate per query"]
    for query, (killed, judged) in sorted(kill_rates(outcomes).items()):
        lines.append(f"  {query:32} {killed:3}/{judged:<3} {100 * killed / judged if judged else 0:5.1f}%")
    lines += [f"  SURVIVED {o.mutant.query}: {o.mutant.change}" for o in outcomes if o.status == "survived"]
    lines += [f"  ERROR    {o.mutant.query}: {o.mutant.change}" for o in outcomes if o.status == "error"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.sql_mutation", description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="*", help="query names (default: every query of FAMILIES)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} is invalid: expected 1 or more")
    if args.list:
        for mutant, tests in family_mutants(args.queries):
            print(f"{mutant.query}: {mutant.change}  [{', '.join(Path(t).name for t in tests)}]")
        return 0
    with tempfile.TemporaryDirectory(prefix="sql-mutation-pg-") as folder, \
            start_scratch_server(Path(folder)) as url:
        make_template(url)
        outcomes = run_pass(url, args.queries, args.jobs)
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
