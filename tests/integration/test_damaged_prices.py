"""Damaged prices: a spike or a level shift by an error's ratio is refused naming the bar; a real move is
kept and recorded once; no forecast leaves its interval.

The interval rule ``lower <= point <= upper`` holds in code (``ForecastResult`` refuses to be
built otherwise) and in the database (a CHECK constraint); the migration that adds the
constraint moves earlier violating rows aside and records them as failures.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg.types.json import Jsonb
from yoyo import get_backend, read_migrations

from jobs.contract.config import JobConfig
from jobs.contract.values import ConfigError
from jobs.forecasting.results import ForecastResult
from jobs.forecasting.damage import screen
from jobs.forecasting.series import PRICE_COLUMNS, BadBarsError, Series, robust_scores
from jobs.forecasting.walkforward import WindowSpec
from jobs.storage.bars import upsert_bars
from jobs.storage.db import MIGRATIONS_DIR, connect, migrate, yoyo_url
from jobs.storage.sample_data import simulated_bars
from tests.support.pipeline import run_symbol

SPEC = WindowSpec(train=120, val=20, test=20, step=20, windows=2)
NEED = SPEC.required_returns(True) + 1
CLEAN = simulated_bars("CLEAN", "1d").iloc[-NEED:].reset_index(drop=True)
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def forecast(point: float, lower: float = -0.02, upper: float = 0.02) -> ForecastResult:
    return ForecastResult(T0, T0 + timedelta(days=1), 100.0, point, lower, upper, 0.9, {"LSTM": 1.0}, False, ("LSTM",))


@pytest.mark.parametrize(("kind", "row", "what"), [
    ("spike", NEED - 30, r"and back within 1 bar\(s\): a damaged price"),
    ("level shift", NEED - 30, r"and stays there: a x1e4 unit or decimal error \(price ratio 1\.\d+e\+04\)"),
    ("spike", NEED - 1, r"and stays there: a x1e4 unit or decimal error \(price ratio \S+\)")])  # no way back yet
def test_a_spike_or_level_shift_is_refused_naming_the_bar(db_url: str, kind: str, row: int, what: str) -> None:
    frame = CLEAN.copy()
    rows = frame.index[row: row + 1] if kind == "spike" else frame.index[row:]
    frame.loc[rows, list(PRICE_COLUMNS)] *= 1e4
    symbol = "JUMP" if kind == "spike" else "LVL"
    with connect(db_url) as conn, conn.transaction():
        upsert_bars(conn, symbol, "1d", frame, "test: x1e4")
    with connect(db_url) as conn:
        outcome = run_symbol(conn, symbol, "1D", JobConfig(), spec=SPEC)
    assert outcome.forecast is None and outcome.error is not None
    assert (outcome.failure, outcome.cause) == ("data", "damaged")
    assert re.match(rf"1d bars: the close at {re.escape(str(frame['ts'].iloc[row]))} moves \+\d{{6,7}}\.\d\d% from "
                    rf"the bar before {what}, \d{{3,4}} robust scales", outcome.error), outcome.error
    assert "from the median return (large moves: above RETURN_OUTLIER_THRESHOLD=25)" in outcome.error


@pytest.mark.parametrize(("factor", "name"), [(0.5, "2:1"), (1 / 3, "3:1"), (0.25, "4:1"), (10.0, "1:10 reverse")])
def test_an_unadjusted_split_is_named_as_one(db_url: str, factor: float, name: str) -> None:
    frame = CLEAN.copy()
    frame.loc[frame.index[NEED - 20:], list(PRICE_COLUMNS)] *= factor
    with connect(db_url) as conn, conn.transaction():
        upsert_bars(conn, "SPLT", "1d", frame, "test: unadjusted split")
    with connect(db_url) as conn:
        outcome = run_symbol(conn, "SPLT", "1D", JobConfig(), spec=SPEC)
    assert (outcome.failure, outcome.cause) == ("data", "split")
    assert f"and stays there: an unadjusted {name} split" in (outcome.error or "")
    assert "load split-adjusted bars with python -m jobs.load_bars --replace" in (outcome.error or "")


# Moves of 28 to 61 robust scales of this series (daily robust scale 1.5%): each one a large move.
@pytest.mark.parametrize("move", [-0.35, -0.45, +0.50, +1.50])
def test_a_real_move_however_large_is_kept_and_forecast(db_url: str, move: float) -> None:
    frame = CLEAN.copy()
    frame.loc[frame.index[NEED - 20:], list(PRICE_COLUMNS)] *= 1 + move
    with connect(db_url) as conn, conn.transaction():
        upsert_bars(conn, "GAP", "1d", frame, "test: earnings gap")
    with connect(db_url) as conn:
        outcome = run_symbol(conn, "GAP", "1D", JobConfig(), spec=SPEC)
    assert outcome.ok, outcome.error
    [event] = outcome.events
    assert event.ts == frame["ts"].iloc[NEED - 20].to_pydatetime()
    assert event.change == pytest.approx(move, abs=0.06)  # plus that day's own return
    assert event.scales > 25


def test_the_threshold_is_a_setting_and_real_index_returns_have_no_large_move() -> None:
    from arch.data import sp500

    close = sp500.load()["Adj Close"].to_numpy()
    ts = pd.date_range("1999-01-01", periods=len(close), freq="B", tz="UTC")
    real = Series("SPY", "1d", ts, close, "real")
    assert 12 < robust_scores(real.returns).max() < 25  # the 2008 crash days score about 14
    assert screen(real, JobConfig().return_outlier_threshold) == ()
    [move] = screen(real, JobConfig.from_env({"RETURN_OUTLIER_THRESHOLD": "13"}).return_outlier_threshold)
    assert move.change == pytest.approx(0.1158, abs=1e-4) and move.scales > 13  # 13 Oct 2008: kept, not damage
    assert JobConfig().to_env()["RETURN_OUTLIER_THRESHOLD"] == "25"
    for bad in ("abc", "0", "4", "1e6", "nan"):
        with pytest.raises(ConfigError, match=f"RETURN_OUTLIER_THRESHOLD='{bad}' is invalid"):
            JobConfig.from_env({"RETURN_OUTLIER_THRESHOLD": bad})


def test_mostly_flat_prices_still_have_a_scale() -> None:
    returns = np.zeros(200)
    returns[::3] = 0.01  # MAD is 0 here: the mean absolute deviation stands in
    assert robust_scores(returns).max() < 5


@pytest.mark.parametrize(("point", "lower", "upper"), [(-0.072, -0.037, 0.01), (0.067, -0.3, -0.173),
                                                       (math.nan, -0.1, 0.1), (0.0, math.inf, 0.1)])
def test_a_forecast_outside_its_interval_cannot_be_built(point: float, lower: float, upper: float) -> None:
    with pytest.raises(ValueError, match="outside its own 90% interval|non-finite forecast"):
        forecast(point, lower, upper)
    assert forecast(0.02).predicted_return == 0.02  # the bounds themselves are inside


def _row(run_id: str, symbol: str, point: float, lower: float, upper: float) -> dict[str, object]:
    return {"run_id": run_id, "symbol": symbol, "horizon": "1D", "origin_ts": T0, "target_ts": T0 + timedelta(days=1),
            "last_close": 100.0, "predicted_return": point, "predicted_price": 100 * math.exp(point),
            "lower_return": lower, "upper_return": upper, "lower_price": 100 * math.exp(lower),
            "upper_price": 100 * math.exp(upper), "interval_level": 0.9, "weights": Jsonb({"LSTM": 1.0}),
            "weights_reverted": False, "model_count": 2, "models_used": "LSTM", "rollout_phase": "canary"}


INSERT = ("INSERT INTO forecasts (run_id, symbol, horizon, origin_ts, target_ts, last_close, predicted_return, "
          "predicted_price, lower_return, upper_return, lower_price, upper_price, interval_level, weights, "
          "weights_reverted, model_count, models_used, rollout_phase) VALUES (%(run_id)s, %(symbol)s, %(horizon)s, "
          "%(origin_ts)s, %(target_ts)s, %(last_close)s, %(predicted_return)s, %(predicted_price)s, %(lower_return)s, "
          "%(upper_return)s, %(lower_price)s, %(upper_price)s, %(interval_level)s, %(weights)s, %(weights_reverted)s, "
          "%(model_count)s, %(models_used)s, %(rollout_phase)s)")


def test_the_database_refuses_a_forecast_outside_its_interval(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="forecasts_point_inside_interval"):
            conn.execute(INSERT, _row("r", "JUMP", -0.072, -0.037, 0.01))


def test_the_migration_quarantines_earlier_violations_and_records_them_as_failures(empty_db_url: str) -> None:
    backend = get_backend(yoyo_url(empty_db_url))
    everything = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(everything.filter(lambda m: not m.id.startswith("20261202_13_"))))
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(INSERT, _row("old-run", "GOOD", 0.001, -0.02, 0.02))
        conn.execute(INSERT, _row("old-run", "JUMP", -0.072, -0.037, 0.01))
        conn.execute(INSERT, _row("old-run", "LVL", 0.067, -0.3, -0.173))
    assert "20261202_13_forecast_interval_check" in migrate(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        kept = conn.execute("SELECT symbol FROM forecasts ORDER BY symbol").fetchall()
        moved = conn.execute("SELECT symbol, predicted_return, reason FROM forecasts_quarantined ORDER BY symbol").fetchall()
        failures = conn.execute("SELECT symbol, reason FROM forecast_failures ORDER BY symbol").fetchall()
    assert kept == [("GOOD",)]
    assert [(s, p) for s, p, _ in moved] == [("JUMP", -0.072), ("LVL", 0.067)]  # unchanged, not "fixed"
    assert [s for s, _ in failures] == ["JUMP", "LVL"]
    assert all("quarantined by migration 20261202_13_forecast_interval_check" in r for _, r in failures)
