"""Filter scenarios: for each named query, rows on both sides of each WHERE term, and what the result must be.

A ``Scenario`` seeds rows (``tests.support.filter_rows.Rows``), runs one query with fixed
parameters and reduces each result row to a key. Each of its ``Filter`` s belongs to one WHERE
term (``tests.support.sql_terms.where_terms`` order): the keys the query must return (rows the
term must let through) and the keys it must not (rows the term must exclude). A write statement
names a test-only ``observe`` query whose rows, read in the same transaction, are its result.

``outcomes`` runs the real text and, for each term, the text with that term dropped, all in one
transaction that is rolled back, so nothing a scenario seeds or writes outlives it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from jobs.storage.db import load_sql
from tests.support.filter_rows import Rows
from tests.support.queries import load_test_sql
from tests.support.sql_terms import drop_term, where_terms

Key = Hashable


@dataclass(frozen=True)
class Filter:
    """One WHERE term's case: ``keeps`` must be in the result, ``drops`` (what the term excludes) must not."""

    term: str
    why: str
    keeps: tuple[Key, ...] = ()
    drops: tuple[Key, ...] = ()

    def violations(self, keys: Sequence[Key]) -> list[str]:
        """What in ``keys`` breaks this case (empty when the result is as the term demands)."""
        return ([f"missing {k!r}" for k in self.keeps if k not in keys]
                + [f"unexpected {k!r}" for k in self.drops if k in keys])


@dataclass(frozen=True)
class Scenario:
    """One query's rows, parameters, result key and a ``Filter`` per WHERE term, in term order."""

    query: str
    seed: Callable[[Rows], None]
    calls: tuple[Mapping[str, Any], ...]
    key: Callable[[Mapping[str, Any]], Key]
    filters: tuple[Filter, ...]
    observe: str | None = None

    @property
    def sql(self) -> str:
        """The query's text as the job loads it."""
        return load_sql(self.query)


@dataclass(frozen=True)
class Outcomes:
    """The keys of the real query and of each one-term-dropped mutant (index = term)."""

    real: tuple[Key, ...]
    dropped: tuple[tuple[Key, ...], ...]


def _run(conn: psycopg.Connection[Any], scenario: Scenario, sql: str) -> tuple[Key, ...]:
    with conn.transaction(force_rollback=True):  # a savepoint: every text starts from the same rows
        rows: list[Mapping[str, Any]] = []
        for params in scenario.calls:
            cur = conn.execute(sql, dict(params))
            if scenario.observe is None and cur.description is not None:
                rows += cur.fetchall()
        if scenario.observe is not None:
            rows = conn.execute(load_test_sql(scenario.observe)).fetchall()
    return tuple(scenario.key(r) for r in rows)


def outcomes(url: str, scenario: Scenario) -> Outcomes:
    """Seed ``scenario`` and run its query, then each mutant with one WHERE term dropped; roll it all back."""
    sql = scenario.sql
    with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction(force_rollback=True):
        scenario.seed(Rows(conn))
        real = _run(conn, scenario, sql)
        dropped = tuple(_run(conn, scenario, drop_term(sql, i)) for i in range(len(where_terms(sql))))
    return Outcomes(real, dropped)
