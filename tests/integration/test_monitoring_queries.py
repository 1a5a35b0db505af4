"""The rollout document's monitoring queries, in PostgreSQL dialect, on real rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from tests.support.queries import query
from tests.support.rollout_rows import (
    CANARY,
    Run,
    add_forecast,
    add_run,
    now,
    seed_symbols,
)

DAY, WEEK, HOUR = timedelta(days=1), timedelta(days=7), timedelta(hours=1)


@pytest.fixture()
def rows_db(db_url: str) -> tuple[str, datetime]:
    """AAPL and MSFT two hours ago, SPY three days ago, each with its paired 4-model baseline.

    AAPL: windows 0.10 and 0.30 (one overfits), test RMSE 0.02. MSFT: 0.05 and 0.07, 0.01.
    SPY: one window at 0.50 (overfits), 0.03. Validation RMSE is 0.95 x test RMSE throughout.
    """
    recent, old = now() - 2 * HOUR, now() - 3 * DAY
    with psycopg.connect(db_url) as conn:
        seed_symbols(conn, CANARY)
        add_run(conn, Run("r1", "AAPL", "1D", recent, divergences=(0.10, 0.30), test_rmse=0.02))
        add_run(conn, Run("r1", "MSFT", "1D", recent, divergences=(0.05, 0.07), test_rmse=0.01))
        add_run(conn, Run("r0", "SPY", "1D", old, divergences=(0.50,), test_rmse=0.03))
    return db_url, recent


def test_daily_divergence_summary_last_day(rows_db: tuple[str, datetime]) -> None:
    url, recent = rows_db
    rows = query(url, "daily_divergence_summary", window=DAY)
    assert [(r["symbol"], r["horizon"], r["windows"]) for r in rows] == [("AAPL", "1D", 2), ("MSFT", "1D", 2)]
    aapl, msft = rows
    assert (aapl["avg_divergence"], aapl["max_divergence"]) == (Decimal("0.2000"), Decimal("0.3000"))
    assert (aapl["overfitting_count"], aapl["pct_overfitting"]) == (1, Decimal("50.0"))
    assert (msft["avg_divergence"], msft["overfitting_count"], msft["pct_overfitting"]) == (
        Decimal("0.0600"), 0, Decimal("0.0"))
    with psycopg.connect(url) as conn:
        local_date = conn.execute("SELECT %(t)s::timestamptz::date", {"t": recent}).fetchone()[0]  # type: ignore[index]
    assert aapl["date"] == local_date


def test_rmse_comparison_orders_by_gap(rows_db: tuple[str, datetime]) -> None:
    rows = query(rows_db[0], "rmse_comparison", window=WEEK)
    assert [r["symbol"] for r in rows] == ["SPY", "AAPL", "MSFT"]  # gaps 0.0015, 0.001, 0.0005
    aapl = rows[1]
    assert (aapl["avg_val_rmse"], aapl["avg_test_rmse"], aapl["rmse_gap"], aapl["windows"]) == (
        Decimal("0.019000"), Decimal("0.020000"), Decimal("0.001000"), 2)


def test_overfitting_symbols_last_week(rows_db: tuple[str, datetime]) -> None:
    url, recent = rows_db
    rows = query(url, "overfitting_symbols", window=WEEK)
    assert [(r["symbol"], r["overfitting_events"], r["avg_divergence"]) for r in rows] == [
        ("SPY", 1, Decimal("0.5000")), ("AAPL", 1, Decimal("0.3000"))]
    assert rows[1]["latest_event"] == recent
    assert [r["symbol"] for r in query(url, "overfitting_symbols", window=DAY)] == ["AAPL"]


def test_model_performance_metrics_compares_the_ensemble_with_the_legacy_baseline(
        rows_db: tuple[str, datetime]) -> None:
    rows = query(rows_db[0], "model_performance_metrics", window=WEEK)
    got = [(r["model_count"], r["is_baseline"], r["horizon"], r["windows"]) for r in rows]
    assert got == [(2, False, "1D", 5), (4, True, "1D", 5)]
    ensemble, legacy = rows
    assert ensemble["avg_test_rmse"] == Decimal("0.018000")  # (2 x 0.02 + 2 x 0.01 + 0.03) / 5
    assert ensemble["pct_overfitting"] == Decimal("40.0")
    assert legacy["avg_test_rmse"] == Decimal("0.010500") and legacy["pct_overfitting"] == Decimal("0.0")
    assert ensemble["avg_divergence"] == Decimal("0.2040")  # (0.10 + 0.30 + 0.05 + 0.07 + 0.50) / 5


def test_canary_recent_forecasts_filters_symbols_horizon_and_hour(db_url: str) -> None:
    t = now()
    with psycopg.connect(db_url) as conn:
        weights = {"LSTM": 0.5, "ARIMA_GARCH": 0.5}
        for run_id, sym, hor, at in (("a", "AAPL", "1D", t - timedelta(minutes=20)),
                                     ("b", "MSFT", "1D", t - timedelta(minutes=5)),
                                     ("c", "AAPL", "1D", t - 3 * HOUR),  # outside the hour
                                     ("d", "AAPL", "4h", t - timedelta(minutes=1)),  # other horizon
                                     ("e", "NVDA", "1D", t - timedelta(minutes=1))):  # not a canary symbol
            add_forecast(conn, {"run_id": run_id, "symbol": sym, "horizon": hor, "rollout_phase": "canary",
                                "created_at": at}, weights)
    rows = query(db_url, "canary_recent_forecasts", symbols=list(CANARY), horizon="1D", window=HOUR)
    assert [(r["symbol"], r["forecast_count"]) for r in rows] == [("MSFT", 1), ("AAPL", 1)]
    assert rows[0]["latest_created_at"] == t - timedelta(minutes=5)
    rows = query(db_url, "canary_recent_forecasts", symbols=list(CANARY), horizon="1D", window=DAY)
    assert [(r["symbol"], r["forecast_count"]) for r in rows] == [("MSFT", 1), ("AAPL", 2)]


def test_canary_recent_metrics_newest_first_without_baseline(rows_db: tuple[str, datetime]) -> None:
    rows = query(rows_db[0], "canary_recent_metrics", symbols=list(CANARY), limit=3)
    assert [(r["symbol"], r["window_id"]) for r in rows] == [("AAPL", 1), ("AAPL", 0), ("MSFT", 1)]
    assert [r["divergence"] for r in rows] == [0.30, 0.10, 0.07]
    assert len(query(rows_db[0], "canary_recent_metrics", symbols=["SPY"], limit=10)) == 1


def test_canary_morning_review_queries(rows_db: tuple[str, datetime]) -> None:
    url = rows_db[0]
    summary = query(url, "canary_divergence_summary", symbols=list(CANARY), window=DAY)
    assert [(r["symbol"], r["windows"], r["overfitting_count"]) for r in summary] == [("AAPL", 2, 1), ("MSFT", 2, 0)]
    assert summary[0]["avg_div"] == pytest.approx(0.20) and summary[0]["max_div"] == pytest.approx(0.30)
    trends = query(url, "canary_rmse_trends", symbols=["AAPL", "SPY"], window=WEEK)
    assert [r["symbol"] for r in trends] == ["AAPL", "SPY"]
    assert trends[0]["avg_val"] == pytest.approx(0.019) and trends[0]["avg_test"] == pytest.approx(0.02)
    assert trends[0]["rmse_diff"] == pytest.approx(0.001)
    alerts = query(url, "canary_overfitting_alerts", symbols=list(CANARY), window=WEEK)
    assert [(r["symbol"], r["divergence"], r["model_count"], r["models_used"]) for r in alerts] == [
        ("SPY", 0.50, 2, "LSTM,ARIMA_GARCH"), ("AAPL", 0.30, 2, "LSTM,ARIMA_GARCH")]
    assert [r["symbol"] for r in query(url, "canary_overfitting_alerts", symbols=list(CANARY), window=DAY)] == ["AAPL"]
