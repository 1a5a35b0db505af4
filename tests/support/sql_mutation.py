"""A small SQL mutation pass: does some test fail when a query's filter or comparison changes?

No maintained tool mutates SQL, so this one does the two edits that matter for the rollout's
queries, one at a time: flip a comparison (``=``/``<>``, ``<``/``<=``, ``>``/``>=``,
``IS NULL``/``IS NOT NULL``) and drop one ``AND`` term of a ``WHERE`` (it becomes ``TRUE``).
Each mutant is run against the tests of its query family (``FAMILIES``) in a throw-away copy of
the checkout, so the real files are never edited and a job started as a subprocess reads the
mutant too; a failing test kills it.

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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

import sqlparse
from sqlparse import sql, tokens

from jobs.sql import queries_dir
from tests.support.fixtures import SERVER_URL_ENV, make_template, start_scratch_server

ROOT = Path(__file__).resolve().parents[2]
# The tests that give each family's queries a reason to be right (the review, the gate, resume,
# retirement), quickest first: pytest stops at the first failure, so most mutants cost one file.
# The review's are the ones over planted rows; its end-to-end runs (test_rollout_job_rows,
# test_symbol_retirement) would cost a job run per surviving mutant.
REVIEW_TESTS = ("tests/integration/test_rollout_review.py", "tests/integration/test_promotion_gate.py",
                "tests/integration/test_rollout_story.py")
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "review": (("review_alert_storms", "review_baseline_rmse", "review_failures", "review_forecast_counts",
                "review_inconsistent_forecasts", "review_logging_gaps", "review_missing_forecasts",
                "review_window_stats"), REVIEW_TESTS),
    "gate": (("gate_phase_runs",), ("tests/integration/test_promotion_gate.py",
                                    "tests/integration/test_rollout_story.py")),
    # Resume is the task claims of issue 22 (jobs/storage/tasks.py).
    "resume": (("claim_task", "release_task", "run_last_attempt", "finish_task", "unpublish_task",
                "run_finished_tasks"), ("tests/integration/test_resume.py", "tests/integration/test_exactly_once.py")),
    "retirement": (("retire_unlisted_symbols", "retired_symbols"), ("tests/integration/test_symbol_retirement.py",
                                                                   "tests/integration/test_daily_checks.py")),
}
FLIPS = {"=": "<>", "<>": "=", "!=": "=", "<": "<=", "<=": "<", ">": ">=", ">=": ">"}
# What a copy of the checkout leaves out: environments, history, caches and run output.
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "mutants", ".data", "reports", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "*.egg-info", "build")
TIMEOUT_S = 900


@dataclass(frozen=True)
class SqlMutant:
    """One edit of one query: what changed (for the report) and the query's whole new text."""

    query: str
    change: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """A mutant's fate: ``killed`` (a test failed), ``survived`` or ``error`` (pytest could not run)."""

    mutant: SqlMutant
    status: str
    seconds: float


def mutants_of(query: str, text: str) -> list[SqlMutant]:
    """Every comparison flip and every dropped term of each ``WHERE`` of ``text``, each applied alone."""
    statements = [s for s in sqlparse.parse(text) if s.value.strip()]
    if len(statements) != 1:
        raise ValueError(f"query {query!r} has {len(statements)} statements; expected exactly one")
    leaves = list(statements[0].flatten())
    index = {id(leaf): i for i, leaf in enumerate(leaves)}
    edits: list[tuple[str, int, int, str]] = []  # (change, first leaf, last leaf, replacement)
    for where in _wheres(statements[0]):
        # Comparisons of the filter itself; those computing a column (CASE ... WHEN) are not filters.
        for leaf in where.flatten():
            i = index[id(leaf)]
            if leaf.ttype is tokens.Operator.Comparison and leaf.value in FLIPS:
                edits.append((f"{_context(leaves, i)}: {leaf.value} -> {FLIPS[leaf.value]}", i, i, FLIPS[leaf.value]))
            elif leaf.ttype is tokens.Keyword and leaf.normalized in ("NOT NULL", "NULL") and _after_is(leaves, i):
                new = "NULL" if leaf.normalized == "NOT NULL" else "NOT NULL"
                edits.append((f"{_context(leaves, i)}: IS {leaf.normalized} -> IS {new}", i, i, new))
        for term in _and_terms(where):
            first, last = index[id(term[0])], index[id(term[-1])]
            shown = " ".join("".join(leaf.value for leaf in leaves[first:last + 1]).split())
            edits.append((f"term dropped: {shown}", first, last, "TRUE"))
    out = []
    for change, first, last, new in sorted(set(edits), key=lambda e: (e[1], e[2])):
        before = "".join(leaf.value for leaf in leaves[:first])
        body = before + new + "".join(leaf.value for leaf in leaves[last + 1:])
        out.append(SqlMutant(query, f"line {before.count(chr(10)) + 1}, {change}", body))
    return out


def _context(leaves: list[sql.Token], i: int) -> str:
    """The few words around leaf ``i``, on one line, to name a comparison in the report."""
    before = "".join(leaf.value for leaf in leaves[max(0, i - 6):i]).split()[-2:]
    after = "".join(leaf.value for leaf in leaves[i + 1:i + 7]).split()[:2]
    return " ".join([*before, "_", *after])


def _after_is(leaves: list[sql.Token], i: int) -> bool:
    """Whether keyword leaf ``i`` follows ``IS`` (``x IS NULL``, ``x IS NOT NULL``)."""
    prior = [leaf for leaf in leaves[:i] if not leaf.is_whitespace]
    return bool(prior) and prior[-1].normalized == "IS"


def _wheres(node: sql.TokenList) -> Iterator[sql.Where]:
    """Every ``WHERE`` clause, in subqueries and CTEs too."""
    for token in node.tokens:
        if isinstance(token, sql.Where):
            yield token
        if token.is_group:
            yield from _wheres(token)


def _and_terms(where: sql.Where) -> list[list[sql.Token]]:
    """The top-level ``AND`` terms of a ``WHERE``, each as its tokens (``BETWEEN x AND y`` stays whole).

    A clause joined by a top-level ``OR`` is one term: dropping half of a disjunction is not a
    filter removed.
    """
    terms: list[list[sql.Token]] = [[]]
    between = False
    body = [t for t in where.tokens[1:] if not (t.ttype in tokens.Comment.Single or isinstance(t, sql.Comment))]
    if any(t.ttype is tokens.Keyword and t.normalized == "OR" for t in body):
        return [[leaf for t in body for leaf in t.flatten() if not leaf.is_whitespace]]
    for token in body:
        if token.ttype is tokens.Keyword and token.normalized == "BETWEEN":
            between = True
        elif token.ttype is tokens.Keyword and token.normalized == "AND" and not between:
            terms.append([])
            continue
        elif token.ttype is tokens.Keyword and token.normalized == "AND":
            between = False
        if token.ttype is tokens.Punctuation and token.value == ";":
            continue
        terms[-1].extend(leaf for leaf in token.flatten())
    return [_strip(t) for t in terms if _strip(t)]


def _strip(term: list[sql.Token]) -> list[sql.Token]:
    """A term without its surrounding whitespace and comments."""
    keep = [i for i, leaf in enumerate(term) if not leaf.is_whitespace and leaf.ttype not in tokens.Comment]
    return term[keep[0]:keep[-1] + 1] if keep else []


def family_mutants(names: Sequence[str]) -> list[tuple[SqlMutant, tuple[str, ...]]]:
    """Each mutant of the named queries (all of ``FAMILIES`` when empty) with the tests that judge it."""
    found = queries_dir()
    chosen = []
    for queries, tests in FAMILIES.values():
        for query in queries:
            if not names or query in names:
                chosen += [(m, tests) for m in mutants_of(query, (found / f"{query}.sql").read_text())]
    unknown = set(names) - {q for queries, _ in FAMILIES.values() for q in queries}
    if unknown:
        known = ", ".join(q for queries, _ in FAMILIES.values() for q in queries)
        raise ValueError(f"unknown queries {sorted(unknown)}; the pass covers: {known}")
    return chosen


def checkout_copy(into: Path) -> Path:
    """A copy of the checkout under ``into``; returns where its queries folder is."""
    found = queries_dir().resolve()
    try:
        relative = found.relative_to(ROOT)
    except ValueError:
        raise ValueError(f"the queries folder {found} is outside the checkout {ROOT}: install the project "
                         "editable (pip install -e .) so the mutants can be placed in a copy") from None
    shutil.copytree(ROOT, into, ignore=NOT_COPIED, symlinks=True)
    return into / relative


def run_tests(copy: Path, tests: Sequence[str], env: dict[str, str]) -> tuple[int, float]:
    """pytest over ``tests`` in the copy, stopping at the first failure; (exit status, seconds)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return done.returncode, time.perf_counter() - started


def run_pass(server_url: str, names: Sequence[str] = (), jobs: int = 1) -> list[Outcome]:
    """Run every mutant's tests (``jobs`` at a time, one checkout copy each) and report each fate."""
    mutants = family_mutants(names)
    env = {**os.environ, SERVER_URL_ENV: server_url, "PYTHONDONTWRITEBYTECODE": "1"}
    with ExitStack() as stack:
        folders = [Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sql-mutant-"))) for _ in range(jobs)]
        copies: Queue[tuple[Path, Path]] = Queue()
        for folder in folders:
            copy = folder / "checkout"
            copies.put((copy, checkout_copy(copy)))
        baseline_copy, _ = copies.queue[0]
        for tests in sorted({t for _, t in mutants}):
            status, _ = run_tests(baseline_copy, tests, env)
            if status != 0:
                raise RuntimeError(f"the unmutated queries fail their own tests ({' '.join(tests)}): fix that first")

        def judge(item: tuple[SqlMutant, tuple[str, ...]]) -> Outcome:
            mutant, tests = item
            copy, queries = copies.get()
            target = queries / f"{mutant.query}.sql"
            original = target.read_text()
            try:
                target.write_text(mutant.text)
                status, seconds = run_tests(copy, tests, env)
            finally:
                target.write_text(original)
                copies.put((copy, queries))
            fate = {0: "survived", 1: "killed"}.get(status, "error")
            print(f"  {fate:8} {mutant.query}: {mutant.change} ({seconds:.0f} s)", flush=True)
            return Outcome(mutant, fate, seconds)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(judge, mutants))


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
