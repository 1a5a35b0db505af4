"""Test data for the rollout review and the monitoring queries: real rows, inserted with named SQL."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tests.support.queries import load_test_sql

CANARY = ("AAPL", "MSFT", "SPY")
# The test stacks' registry (tests.support.stacks: account and region): images are pinned there by digest.
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ENSEMBLE = "LSTM,ARIMA_GARCH"
LEGACY = "LSTM,ARIMA_GARCH,GB,RF"


def now() -> datetime:
    """The database-independent current time the tests build rows around."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Run:
    """One run of one symbol-horizon: its windows, its paired baseline and its forecast.

    ``divergences`` gives one window each; a window overfits when above ``overfit_above``.
    ``baseline_test_rmse=None`` writes no baseline rows; ``forecast=False`` / ``windows=False``
    leave out the forecast or the window rows (a logging gap). ``image_ref`` records the image the
    run ran (``forecast_runs``); None records nothing (a run of an unknown image).
    """

    run_id: str
    symbol: str
    horizon: str
    created_at: datetime
    divergences: Sequence[float] = (0.04, 0.06, 0.05, 0.03, 0.07)
    test_rmse: float = 0.0100
    baseline_test_rmse: float | None = 0.0105
    model_errors: int = 0
    phase: str = "canary"
    forecast: bool = True
    windows: bool = True
    overfit_above: float = 0.20
    weights: dict[str, float] | None = None
    price_error: float = 0.0
    coverage: float | None = 0.90
    image_ref: str | None = None


def image_ref(fill: str) -> str:
    """An image pinned by digest in the shared repository, the digest's 64 hex digits all ``fill``."""
    return f"{REGISTRY}/ensemble-forecast@sha256:{fill * 64}"


def seed_symbols(conn: psycopg.Connection[Any], symbols: Sequence[str], phase: str = "canary") -> None:
    """Register ``symbols`` in ``symbol_metadata`` under ``phase``."""
    for sym in symbols:
        conn.execute(load_test_sql("review_seed_symbol"),
                     {"symbol": sym, "is_canary": phase == "canary", "rollout_phase": phase})


def add_run(conn: psycopg.Connection[Any], run: Run) -> None:
    """Insert ``run``'s window rows (and baseline pairs) and its forecast."""
    base = {"run_id": run.run_id, "symbol": run.symbol, "horizon": run.horizon, "rollout_phase": run.phase,
            "created_at": run.created_at}
    if run.windows:
        for i, div in enumerate(run.divergences):
            add_window(conn, base, i, div, run.test_rmse, div > run.overfit_above, run.model_errors, False, ENSEMBLE,
                       run.coverage)
            if run.baseline_test_rmse is not None:
                add_window(conn, base, i, div, run.baseline_test_rmse, False, 0, True, LEGACY, run.coverage)
    if run.forecast:
        add_forecast(conn, base, run.weights or {"LSTM": 0.5, "ARIMA_GARCH": 0.5}, run.price_error)
    if run.image_ref is not None:
        add_run_image(conn, run.run_id, run.created_at, run.image_ref)


def add_run_image(conn: psycopg.Connection[Any], run_id: str, created_at: datetime, image_ref: str | None) -> None:
    """Record the image ``run_id`` ran (None: unknown) unless the run has recorded one."""
    conn.execute(load_test_sql("review_seed_run_image"),
                 {"run_id": run_id, "created_at": created_at, "image_ref": image_ref})


def add_window(conn: psycopg.Connection[Any], base: dict[str, Any], window_id: int, divergence: float,
               test_rmse: float, overfit: bool, model_errors: int, baseline: bool, models: str,
               coverage: float | None = 0.90) -> None:
    """Insert one window row; validation RMSE is set so the raw ratio is consistent."""
    start = base["created_at"] - timedelta(days=400)
    conn.execute(load_test_sql("review_seed_window"), {
        **base, "window_id": window_id, "train_start": start, "val_start": start + timedelta(days=250),
        "test_start": start + timedelta(days=300), "test_end": start + timedelta(days=350),
        "val_rmse": test_rmse * 0.95, "test_rmse": test_rmse, "naive_val_rmse": 0.011, "naive_test_rmse": 0.011,
        "rmse_ratio": 1 / 0.95, "divergence": divergence, "is_overfitting": overfit,
        "weights": Jsonb({m: 1 / len(models.split(",")) for m in models.split(",")}),
        "model_count": len(models.split(",")), "models_used": models, "model_errors": model_errors,
        "is_baseline": baseline, "interval_coverage": coverage,
        "interval_width": None if coverage is None else 0.04,
    })


def add_forecast(conn: psycopg.Connection[Any], base: dict[str, Any], weights: dict[str, float],
                 price_error: float = 0.0) -> None:
    """Insert a consistent forecast row (``price_error`` breaks the price on purpose)."""
    close, ret = 100.0, 0.002
    origin = base["created_at"].replace(microsecond=0) - timedelta(hours=1)
    conn.execute(load_test_sql("review_seed_forecast"), {
        **base, "origin_ts": origin, "target_ts": origin + timedelta(days=1), "last_close": close,
        "predicted_return": ret, "predicted_price": close * math.exp(ret) + price_error,
        "lower_return": ret - 0.02, "upper_return": ret + 0.02, "lower_price": close * math.exp(ret - 0.02),
        "upper_price": close * math.exp(ret + 0.02), "interval_level": 0.9, "weights": Jsonb(weights),
        "model_count": 2, "models_used": ENSEMBLE,
    })


def add_failure(conn: psycopg.Connection[Any], run_id: str, symbol: str, horizon: str, reason: str,
                created_at: datetime) -> None:
    """Record that ``symbol`` failed in ``run_id``."""
    conn.execute(load_test_sql("review_seed_failure"), {"run_id": run_id, "symbol": symbol, "horizon": horizon,
                                                   "reason": reason, "created_at": created_at})


def day_time(days_ago: int, at: datetime | None = None) -> datetime:
    """A run time ``days_ago`` days before ``at`` (default now), one hour earlier still."""
    return (at or now()) - timedelta(days=days_ago, hours=1)


def clean_canary(conn: psycopg.Connection[Any], days: int = 7, skip: set[tuple[int, str]] | None = None,
                 at: datetime | None = None, image_ref: str | None = None) -> None:
    """A healthy canary: AAPL, MSFT, SPY at 1D, one run a day for ``days`` days, of ``image_ref`` when given.

    ``skip`` names (days_ago, symbol) runs to leave out entirely.
    """
    seed_symbols(conn, CANARY)
    for d in range(days):
        for sym in CANARY:
            if skip and (d, sym) in skip:
                continue
            add_run(conn, Run(f"run-{d}", sym, "1D", day_time(d, at), image_ref=image_ref))
