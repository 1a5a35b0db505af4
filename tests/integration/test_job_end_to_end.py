"""The job for real: sample bars, LSTM + ARIMA-GARCH, walk-forward, rows in PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from jobs.forecasting.walkforward import DEFAULT_SPECS
from jobs.rollout_review import main as review_main
from jobs.unified_forecast_job import main

DEMO = ["--symbols", "AAPL,MSFT,SPY", "--horizon", "1D", "--workers", "1"]


def fetch(url: str, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params or {}).fetchall()


@pytest.fixture(scope="module")
def demo_db(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database the demo command ran against once (module-scoped: models take seconds)."""
    import uuid

    from tests.support.fixtures import with_dbname

    name = f"demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated identifier
    url = with_dbname(pg_server_url, name)
    assert main(DEMO, {"DATABASE_URL": url}) == 0
    return url


def test_demo_writes_three_forecasts_and_one_metrics_row_per_window(demo_db: str) -> None:
    forecasts = fetch(demo_db, "SELECT * FROM forecasts ORDER BY symbol")
    assert [f["symbol"] for f in forecasts] == ["AAPL", "MSFT", "SPY"]
    for f in forecasts:
        assert f["horizon"] == "1D" and f["model_count"] == 2 and f["models_used"] == "LSTM,ARIMA_GARCH"
        assert f["lower_price"] < f["predicted_price"] < f["upper_price"], f["symbol"]
        assert abs(sum(f["weights"].values()) - 1) < 1e-9
        assert f["target_ts"] > f["origin_ts"]
    per_symbol = fetch(demo_db, "SELECT symbol, COUNT(*) AS n, COUNT(DISTINCT window_id) AS w "
                                "FROM ensemble_validation_metrics GROUP BY symbol ORDER BY symbol")
    windows = DEFAULT_SPECS["1d"].windows
    assert [(r["symbol"], r["n"], r["w"]) for r in per_symbol] == [(s, windows, windows) for s in ("AAPL", "MSFT", "SPY")]


def test_metrics_rows_are_consistent_with_their_definitions(demo_db: str) -> None:
    rows = fetch(demo_db, "SELECT * FROM ensemble_validation_metrics")
    for r in rows:
        skill = (r["test_rmse"] / r["naive_test_rmse"]) / (r["val_rmse"] / r["naive_val_rmse"]) - 1
        assert r["divergence"] == pytest.approx(skill), r["symbol"]
        assert r["rmse_ratio"] == pytest.approx(r["test_rmse"] / r["val_rmse"])
        assert r["is_overfitting"] == (r["divergence"] > 0.20)
        assert r["weights_reverted"] == r["is_overfitting"]
        assert r["val_start"] < r["test_start"] < r["test_end"]
        assert r["model_set"] == "LSTM,ARIMA_GARCH" and not r["is_baseline"]


def test_symbol_metadata_kept_in_step(demo_db: str) -> None:
    rows = fetch(demo_db, "SELECT symbol, is_canary, rollout_phase FROM symbol_metadata ORDER BY symbol")
    assert [(r["symbol"], r["rollout_phase"]) for r in rows] == [("AAPL", "local"), ("MSFT", "local"), ("SPY", "local")]


def test_sample_bars_are_labelled(demo_db: str) -> None:
    rows = fetch(demo_db, "SELECT symbol, MIN(source) AS source FROM ohlc_bars GROUP BY symbol ORDER BY symbol")
    labels = {r["symbol"]: r["source"] for r in rows}
    assert labels["SPY"].startswith("real: arch.data.sp500")
    assert labels["AAPL"].startswith("simulated")


def test_rerunning_the_same_run_writes_no_duplicates_and_same_values(demo_db: str) -> None:
    before = fetch(demo_db, "SELECT symbol, predicted_return, run_id FROM forecasts ORDER BY symbol")
    counts = fetch(demo_db, "SELECT (SELECT COUNT(*) FROM forecasts) f, (SELECT COUNT(*) FROM ensemble_validation_metrics) m")
    assert main(DEMO, {"DATABASE_URL": demo_db}) == 0
    assert fetch(demo_db, "SELECT (SELECT COUNT(*) FROM forecasts) f, (SELECT COUNT(*) FROM ensemble_validation_metrics) m") == counts
    assert fetch(demo_db, "SELECT symbol, predicted_return, run_id FROM forecasts ORDER BY symbol") == before


def test_same_bars_config_and_seed_give_the_same_forecasts(demo_db: str) -> None:
    # A different run id forces a fresh computation; it replaces the forecast for the same
    # target time (one row per symbol, horizon and target), with exactly the same values.
    # One of the demo's symbols (the real S&P 500 series) is enough to show it: each fit is seeded alike.
    query = "SELECT symbol, target_ts, predicted_return, lower_return, run_id FROM forecasts WHERE symbol = 'SPY'"
    before = fetch(demo_db, query)
    assert main(["--symbols", "SPY", "--horizon", "1D", "--workers", "1", "--run-id", "determinism-check"],
                {"DATABASE_URL": demo_db}) == 0
    after = fetch(demo_db, query)
    assert [r["run_id"] for r in after] == ["determinism-check"], "the regenerated forecast replaced the row"
    assert [{k: v for k, v in r.items() if k != "run_id"} for r in after] == [
        {k: v for k, v in r.items() if k != "run_id"} for r in before]


def test_a_symbol_without_bars_is_an_unknown_symbol_recorded_alone(demo_db: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--symbols", "AAPL,ZZZZ", "--horizon", "1D", "--workers", "1", "--run-id", "partial"]
    assert main(argv, {"DATABASE_URL": demo_db}) == 0  # a data incident: recorded and reported, not a fault
    err = capsys.readouterr().err
    assert err.count("data incident: unknown symbol ZZZZ: no bars stored, nothing fitted") == 1
    assert [r["symbol"] for r in fetch(demo_db, "SELECT symbol FROM forecasts WHERE run_id = 'partial'")] == ["AAPL"]
    failures = fetch(demo_db, "SELECT symbol, reason, failure_class, cause FROM forecast_failures "
                              "WHERE run_id = 'partial'")
    assert [(f["symbol"], f["failure_class"], f["cause"]) for f in failures] == [("ZZZZ", "data", "unknown-symbol")]
    assert failures[0]["reason"].startswith("unknown symbol ZZZZ: no bars stored")


def test_a_regenerated_forecast_is_not_a_logging_gap_in_the_review(
        demo_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Regenerating (a new run for the same target, e.g. after a rollback) replaces the forecast
    # row; the earlier run's windows were logged with their forecast all the same.
    for run_id in ("regen-a", "regen-b"):
        assert main(["--symbols", "SPY", "--horizon", "1D", "--workers", "1", "--run-id", run_id],
                    {"DATABASE_URL": demo_db}) == 0
    argv = ["--phase", "local", "--days", "1", "--no-baseline-required", "--out-dir", str(tmp_path)]
    review_main(argv, {"DATABASE_URL": demo_db})
    out = capsys.readouterr().out
    assert "[ROLLBACK] logging" not in out and "[MONITOR] logging" not in out, "a logging gap was reported"
    report = (tmp_path / "rollout_review_local.md").read_text()
    assert "| logging | PROCEED | 100% of forecasts and windows logged |" in report
