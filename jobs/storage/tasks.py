"""Claims on a run's symbol-horizons: each is computed, written and published by one process, once.

A ``Claims`` object holds one autocommit connection for the run: the session that holds the
advisory lock of every task this process claimed (``claim_forecast_task``, migration
``20261204_22_forecast_tasks``). The lock ends with the session, so a killed process frees its
tasks for the retry, while a live second process with the same run id finds them busy.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal

import psycopg

from jobs.storage.db import DatabaseUnavailable, connect, load_sql

ClaimResult = Literal["claimed", "finished", "busy"]


@dataclass(frozen=True)
class Claim:
    """What claiming a task found: ``claimed`` (it is this process's now), ``finished`` or ``busy``."""

    symbol: str
    horizon: str
    result: ClaimResult
    state: str | None  # 'claimed', 'written' or 'failed'
    attempt: int | None  # the attempt that holds, or last held, the task
    first: bool  # the task's first claim in the run: its ForecastsExpected is published now


@dataclass(frozen=True)
class FinishedTask:
    """A task of the run whose rows and publish stamp committed, and who recorded them."""

    symbol: str
    horizon: str
    state: str  # 'written' or 'failed'
    attempt: int | None  # None: finished before tasks were claimed (migration 20261204_22)
    reason: str | None
    failure_class: str | None = None  # a failure's class: 'data' (input refused) or 'pipeline' (code raised)
    cause: str | None = None  # a data incident's cause (``jobs.forecasting.series.BadBarsError``)


@dataclass(frozen=True)
class RunDate:
    """The run's date and image as its first attempt recorded them (``forecast_runs``); whether this call did."""

    as_of: date
    recorded_at: datetime
    first: bool  # this call recorded it: this is the run's first attempt (or the first of its processes)
    image_ref: str | None = None  # the image its first attempt ran (IMAGE_REF); None: unknown


def new_claimer() -> str:
    """A name for this process's claims, unique across hosts, processes and runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Claims:
    """The run's claims session (a context manager: leaving it releases every lock it holds)."""

    def __init__(self, url: str, run_id: str, attempt: int, claimer: str | None = None) -> None:
        self.url, self.run_id, self.attempt = url, run_id, attempt
        self.claimer = claimer or new_claimer()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None

    def __enter__(self) -> Claims:
        self._conn = connect(self.url)
        self._conn.autocommit = True  # each claim commits at once; the locks belong to the session
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # ends the session: every lock it still holds is released
            except psycopg.Error:
                pass
            self._conn = None

    def claim(self, symbol: str, horizon: str, wait: bool = False) -> Claim:
        """Claim one task; with ``wait``, block until a live holder lets go of it instead of returning busy."""
        if self._conn is None:
            raise RuntimeError("Claims.claim outside its with-block: no claims session")
        try:
            row = self._conn.execute(load_sql("claim_task"), {
                "run_id": self.run_id, "symbol": symbol, "horizon": horizon, "attempt": self.attempt,
                "claimer": self.claimer, "wait": wait}).fetchone()
        except psycopg.OperationalError as exc:  # the claims session is gone: so is every claim it held
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise DatabaseUnavailable(f"database unreachable while claiming {symbol} {horizon}: {reason}") from None
        if row is None:
            raise RuntimeError("claim_forecast_task returned no row")
        return Claim(symbol, horizon, row["claim"], row["state"], row["attempt"], row["first_claim"])

    def release(self, symbol: str, horizon: str) -> None:
        """Let go of a finished task (best effort: a lost session has already let go of everything)."""
        if self._conn is None or self._conn.closed:
            return
        try:
            self._conn.execute(load_sql("release_task"), {"run_id": self.run_id, "symbol": symbol, "horizon": horizon})
        except psycopg.Error:
            pass


def next_attempt(conn: psycopg.Connection[Any], run_id: str) -> int:
    """The attempt number of a new attempt of ``run_id`` outside Batch: one more than any so far."""
    row = conn.execute(load_sql("run_last_attempt"), {"run_id": run_id}).fetchone()
    return int(row["attempt"] if row else 0) + 1


def begin_run(conn: psycopg.Connection[Any], run_id: str, as_of: date, recorder: str,
              image_ref: str | None = None) -> RunDate:
    """Record ``as_of`` and ``image_ref`` as the date and image of ``run_id`` unless the run has them; return them.

    ``recorder`` names this process (``new_claimer``); a write retried after a lost commit
    acknowledgement finds its own row and still counts as the one that recorded it.
    """
    row = conn.execute(load_sql("begin_run"), {"run_id": run_id, "as_of": as_of, "recorder": recorder,
                                               "image_ref": image_ref}).fetchone()
    if row is None:
        raise RuntimeError("record_forecast_run returned no row")
    return RunDate(row["as_of"], row["recorded_at"], row["recorded_by"] == recorder, row["image_ref"])


def finish(conn: psycopg.Connection[Any], run_id: str, symbol: str, horizon: str, claimer: str, state: str) -> None:
    """In the task's write transaction: its state and publish stamp; raises if the claim was taken over."""
    conn.execute(load_sql("finish_task"),
                 {"run_id": run_id, "symbol": symbol, "horizon": horizon, "claimer": claimer, "state": state})


def unpublish(conn: psycopg.Connection[Any], run_id: str, symbol: str, horizon: str, claimer: str) -> None:
    """Clear a task's publish stamp after its metrics failed to go out, so a retry publishes them."""
    conn.execute(load_sql("unpublish_task"), {"run_id": run_id, "symbol": symbol, "horizon": horizon,
                                              "claimer": claimer})


def finished_tasks(conn: psycopg.Connection[Any], run_id: str) -> list[FinishedTask]:
    """Every finished task of ``run_id``, whichever attempt or process finished it."""
    rows = conn.execute(load_sql("run_finished_tasks"), {"run_id": run_id}).fetchall()
    return [FinishedTask(r["symbol"], r["horizon"], r["state"], r["attempt"], r["reason"], r["failure_class"],
                         r["cause"])
            for r in rows]


def symbols_with_bars(conn: psycopg.Connection[Any], symbols: list[str], timeframes: list[str]
                      ) -> set[tuple[str, str]]:
    """The ``(symbol, timeframe)`` pairs of ``symbols`` and ``timeframes`` that have at least one bar stored."""
    rows = conn.execute(load_sql("symbols_with_bars"), {"symbols": symbols, "timeframes": timeframes}).fetchall()
    return {(r["symbol"], r["timeframe"]) for r in rows}
