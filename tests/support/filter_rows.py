"""Row writers for the SQL filter tests: one short call per row, each through a named test-only insert.

Every writer takes the row's identity and time and defaults the rest to a healthy, consistent
row, so a scenario reads as the list of rows that sit on either side of a filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

from tests.support.queries import load_test_sql
from tests.support.rollout_rows import ENSEMBLE, LEGACY, add_run_image, add_window

# A Monday, 00:00 UTC: the filter scenarios' day D0 (UTC days matter to the missing-forecasts query).
D0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


def day(n: int, hour: float = 12.0) -> datetime:
    """``hour`` o'clock UTC on day ``n`` after D0."""
    return D0 + timedelta(days=n, hours=hour)


@dataclass
class Rows:
    """Writes filter-test rows on one connection (the caller owns the transaction)."""

    conn: psycopg.Connection[Any]

    def window(self, run_id: str, symbol: str, horizon: str, phase: str, at: datetime, *, window_id: int = 0,
               divergence: float = 0.05, baseline: bool = False, overfitting: bool = False,
               test_rmse: float = 0.01, model_errors: int = 0, coverage: float | None = 0.9) -> None:
        """One walk-forward window row (a baseline row when ``baseline``)."""
        base = {"run_id": run_id, "symbol": symbol, "horizon": horizon, "rollout_phase": phase, "created_at": at}
        add_window(self.conn, base, window_id, divergence, test_rmse, overfitting, model_errors, baseline,
                   LEGACY if baseline else ENSEMBLE, coverage)

    def pair(self, run_id: str, symbol: str, horizon: str, phase: str, at: datetime, *, window_id: int = 0,
             test_rmse: float = 0.01, baseline_rmse: float = 0.01) -> None:
        """A production window and its paired baseline window (same run, symbol, horizon and window id)."""
        self.window(run_id, symbol, horizon, phase, at, window_id=window_id, test_rmse=test_rmse)
        self.window(run_id, symbol, horizon, phase, at, window_id=window_id, test_rmse=baseline_rmse, baseline=True)

    def forecast(self, run_id: str, symbol: str, horizon: str, phase: str, at: datetime, *,
                 published: datetime | None = None, price_error: float = 0.0,
                 target: datetime | None = None) -> None:
        """One forecast row; ``price_error`` makes it inconsistent (price is not last_close * exp(return))."""
        close, ret = 100.0, 0.002
        origin = at - timedelta(hours=1)
        self.conn.execute(load_test_sql("filter_seed_forecast"), {
            "run_id": run_id, "symbol": symbol, "horizon": horizon, "rollout_phase": phase, "created_at": at,
            "origin_ts": origin, "target_ts": target or origin + timedelta(days=1), "last_close": close,
            "predicted_return": ret, "predicted_price": close * math.exp(ret) + price_error,
            "lower_return": ret - 0.02, "upper_return": ret + 0.02, "lower_price": close * math.exp(ret - 0.02),
            "upper_price": close * math.exp(ret + 0.02), "metrics_published_at": published})

    def failure(self, run_id: str, symbol: str, horizon: str, at: datetime, *,
                published: datetime | None = None, failure_class: str = "pipeline", cause: str | None = None) -> None:
        """A recorded failure of ``symbol`` in ``run_id`` (a pipeline failure unless ``failure_class`` is data)."""
        self.conn.execute(load_test_sql("filter_seed_failure"), {
            "run_id": run_id, "symbol": symbol, "horizon": horizon, "created_at": at, "metrics_published_at": published,
            "failure_class": failure_class, "cause": cause})

    def data_event(self, run_id: str, symbol: str, horizon: str, at: datetime, *, ts: datetime | None = None) -> None:
        """A real large move of ``symbol`` (its bar at ``ts``, default ``at``) that ``run_id`` recorded at ``at``."""
        self.conn.execute(load_test_sql("filter_seed_data_event"), {
            "run_id": run_id, "symbol": symbol, "horizon": horizon, "ts": ts or at, "created_at": at})

    def incidents(self, symbol: str, streak: int, *, quarantined: datetime | None = None) -> None:
        """A listed symbol's streak of data incidents (the latest on D0) and its quarantine, if ``quarantined``."""
        self.conn.execute(load_test_sql("filter_seed_incidents"), {
            "symbol": symbol, "streak": streak, "last_incident_on": D0.date() if streak else None,
            "quarantined_at": quarantined})

    def symbol(self, symbol: str, phase: str, *, listed: datetime | None = None,
               retired: datetime | None = None, updated: datetime | None = None) -> None:
        """A symbol's membership: listed (default long before D0), retired when ``retired``."""
        self.conn.execute(load_test_sql("filter_seed_symbol"), {
            "symbol": symbol, "rollout_phase": phase, "listed_at": listed or D0 - timedelta(days=60),
            "retired_at": retired, "updated_at": updated or D0 - timedelta(days=60)})

    def task(self, run_id: str, symbol: str, horizon: str, *, attempt: int | None = 1, claimer: str = "me",
             state: str = "claimed", published: datetime | None = None) -> None:
        """A task of ``run_id`` claimed by ``claimer``; finished (its rows and stamp committed) when ``published``."""
        self.conn.execute(load_test_sql("filter_seed_task"), {
            "run_id": run_id, "symbol": symbol, "horizon": horizon, "attempt": attempt, "claimed_by": claimer,
            "state": state, "published_at": published})

    def run_image(self, run_id: str, image_ref: str | None, at: datetime = D0) -> None:
        """The image ``run_id`` recorded (None: unknown), as its first attempt records it."""
        add_run_image(self.conn, run_id, at, image_ref)

    def bar(self, symbol: str, timeframe: str, at: datetime = D0) -> None:
        """One bar of ``symbol`` at ``timeframe``."""
        self.conn.execute(load_test_sql("filter_seed_bar"), {"symbol": symbol, "timeframe": timeframe, "ts": at})
