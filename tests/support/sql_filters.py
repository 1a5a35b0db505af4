"""Filter scenarios: for each named query, rows on both sides of each WHERE term, and what the result must be.

A ``Scenario`` seeds rows (``tests.support.filter_rows.Rows``), runs one query with fixed
parameters and reduces each result row to a key. Each of its ``Filter`` s belongs to one WHERE
term (``tests.support.sql_terms.where_terms`` order): the keys the query must return (rows the
term must let through) and the keys it must not (rows the term must exclude). A write statement
names a test-only ``observe`` query whose rows, read in the same transaction, are its result.
A call that raises adds ``Raised(sqlstate, first line)`` to the result instead of rows.

A query that calls a function of the migrations (the task claims) names it as ``routine``:
its terms are the function body's, and each mutant is the function re-created with one term
dropped (``CREATE OR REPLACE FUNCTION``, rolled back with the rest).

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
from tests.support.sql_routines import routine
from tests.support.sql_terms import drop_term, where_terms

Key = Hashable


@dataclass(frozen=True)
class Raised:
    """A call of the scenario that raised: its SQLSTATE and the first line of the message."""

    sqlstate: str
    message: str


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
    routine: str | None = None  # the migrations' function whose body holds the WHERE terms
    with_params: bool = False  # each result row is keyed with its call's parameters merged in
    also: tuple[Filter, ...] = ()  # cases that are no WHERE term's (asserted on the real result only)

    @property
    def sql(self) -> str:
        """The text whose WHERE terms the filters name: the query as the job loads it, or the routine's body."""
        return routine(self.routine).body if self.routine else load_sql(self.query)

    @property
    def terms(self) -> list[str]:
        """The WHERE terms of ``sql``, in text order."""
        return where_terms(self.sql, many=self.routine is not None)

    def violations(self, keys: Sequence[Key]) -> list[str]:
        """What in ``keys`` breaks any of the scenario's cases (empty when the result is right)."""
        return [f"{f.term}: {v}" for f in (*self.filters, *self.also) for v in f.violations(keys)]


@dataclass(frozen=True)
class Outcomes:
    """The keys of the real query and of each one-term-dropped mutant (index = term)."""

    real: tuple[Key, ...]
    dropped: tuple[tuple[Key, ...], ...]


def _call(conn: psycopg.Connection[Any], scenario: Scenario, sql: str, params: Mapping[str, Any]) -> list[Key]:
    """One call in a savepoint of its own: its keyed rows, or what it raised."""
    try:
        with conn.transaction():
            cur = conn.execute(sql, dict(params))
            rows = cur.fetchall() if scenario.observe is None and cur.description is not None else []
    except psycopg.Error as exc:
        return [Raised(exc.sqlstate or "", str(exc).splitlines()[0])]
    return [scenario.key({**params, **r} if scenario.with_params else r) for r in rows]


def _run(conn: psycopg.Connection[Any], scenario: Scenario, sql: str, setup: str | None = None) -> tuple[Key, ...]:
    with conn.transaction(force_rollback=True):  # a savepoint: every text starts from the same rows
        if setup is not None:
            conn.execute(setup)
        keys = [k for params in scenario.calls for k in _call(conn, scenario, sql, params)]
        if scenario.observe is not None:
            keys = [scenario.key(r) for r in conn.execute(load_test_sql(scenario.observe)).fetchall()] + [
                k for k in keys if isinstance(k, Raised)]
    return tuple(keys)


def _dropped(conn: psycopg.Connection[Any], scenario: Scenario, i: int) -> tuple[Key, ...]:
    """The result with term ``i`` dropped: from the query's text, or from the routine it calls."""
    if scenario.routine is None:
        return _run(conn, scenario, drop_term(scenario.sql, i))
    found = routine(scenario.routine)
    return _run(conn, scenario, load_sql(scenario.query), setup=found.create(drop_term(found.body, i, many=True)))


def outcomes(url: str, scenario: Scenario) -> Outcomes:
    """Seed ``scenario`` and run its query, then each mutant with one WHERE term dropped; roll it all back."""
    with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction(force_rollback=True):
        scenario.seed(Rows(conn))
        real = _run(conn, scenario, load_sql(scenario.query))
        dropped = tuple(_dropped(conn, scenario, i) for i in range(len(scenario.terms)))
    return Outcomes(real, dropped)


def result_with(url: str, scenario: Scenario, text: str) -> tuple[Key, ...]:
    """The keys of ``scenario`` with ``text`` in place of ``sql`` (its query, or its routine's body); rolled back.

    The SQL mutation pass judges each mutant by this first: a mutant whose result breaks a case
    (``Scenario.violations``) would fail its filter test.
    """
    with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction(force_rollback=True):
        scenario.seed(Rows(conn))
        if scenario.routine is None:
            return _run(conn, scenario, text)
        return _run(conn, scenario, load_sql(scenario.query), setup=routine(scenario.routine).create(text))
