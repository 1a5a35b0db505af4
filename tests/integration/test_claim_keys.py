"""The advisory-lock keys of the claims and the imports: each covers exactly its task, or its symbol's bars.

``release_task`` and ``lock_bars`` have no WHERE (``test_sql_filters`` covers the terms of the
others): what must be exact is the lock key they compute, run/symbol/horizon for a task and
symbol/timeframe for an import. Each test holds one key in one session and probes it and its
neighbours, that differ in one part, from another.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from jobs.storage.db import load_sql
from jobs.storage.tasks import Claims


@pytest.fixture()
def holders(db_url: str) -> Iterator[dict[str, Claims]]:
    """Claims sessions of runs R and R2 (process A) and of R and R2 again (process B)."""
    sessions = {"A": Claims(db_url, "R", 1, "A"), "A2": Claims(db_url, "R2", 1, "A"),
                "B": Claims(db_url, "R", 2, "B"), "B2": Claims(db_url, "R2", 2, "B")}
    for claims in sessions.values():
        claims.__enter__()
    try:
        yield sessions
    finally:
        for claims in sessions.values():
            claims.__exit__(None, None, None)


def test_releasing_a_task_lets_go_of_exactly_that_task(holders: dict[str, Claims]) -> None:
    a, a2, b, b2 = holders["A"], holders["A2"], holders["B"], holders["B2"]
    for symbol, horizon in (("S", "1D"), ("S2", "1D"), ("S", "4h")):
        assert a.claim(symbol, horizon).result == "claimed"
    assert a2.claim("S", "1D").result == "claimed"
    assert b.claim("S", "1D").result == "busy"  # held by A's live session

    a.release("S", "1D")
    # Only R/S/1D is free now: the task that differs in its run, symbol or horizon is still A's.
    assert [b.claim(s, h).result for s, h in (("S2", "1D"), ("S", "4h"))] == ["busy", "busy"]
    assert b2.claim("S", "1D").result == "busy"
    taken = b.claim("S", "1D")
    assert (taken.result, taken.attempt, taken.first) == ("claimed", 2, False)


def test_an_import_lock_serialises_one_symbol_and_timeframe_and_nothing_else(db_url: str) -> None:
    lock = load_sql("lock_bars")
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url, autocommit=True) as probe:
        holder.execute(lock, {"symbol": "S", "timeframe": "1d"})  # held until holder's transaction ends
        probe.execute("SET lock_timeout = '200ms'")  # a probe: a held lock fails it instead of blocking

        def free(symbol: str, timeframe: str) -> bool:
            try:
                with probe.transaction():
                    probe.execute(lock, {"symbol": symbol, "timeframe": timeframe})
                return True
            except psycopg.errors.LockNotAvailable:
                return False

        assert [free("S", "1d"), free("S2", "1d"), free("S", "1h")] == [False, True, True]
        holder.commit()
        assert free("S", "1d")
