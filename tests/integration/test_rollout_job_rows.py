"""The job's own rows: the demo run for real (``tests.support.demo_run``), then the monitoring queries and the
review read what it wrote."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from jobs import rollout_review
from jobs.forecasting.walkforward import DEFAULT_SPECS
from tests.support.queries import query

SYMBOLS = ["AAPL", "MSFT", "SPY"]
WINDOWS = DEFAULT_SPECS["1d"].windows


def test_queries_and_review_on_the_jobs_rows(legacy_demo_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db_url = legacy_demo_url  # the demo's rows, with the paired legacy baseline (tests.support.demo_run)
    capsys.readouterr()

    recent = query(db_url, "canary_recent_forecasts", symbols=SYMBOLS, horizon="1D", window=timedelta(hours=1))
    assert sorted((r["symbol"], r["forecast_count"]) for r in recent) == [(s, 1) for s in SYMBOLS]

    windows = query(db_url, "canary_recent_metrics", symbols=SYMBOLS, limit=1000)
    assert len(windows) == WINDOWS * len(SYMBOLS)  # baseline rows are not the ensemble's windows
    summary = query(db_url, "canary_divergence_summary", symbols=SYMBOLS, window=timedelta(hours=24))
    assert [r["symbol"] for r in summary] == SYMBOLS
    daily = {r["symbol"]: r for r in query(db_url, "daily_divergence_summary", window=timedelta(days=1))}
    for row in summary:
        mine = [w["divergence"] for w in windows if w["symbol"] == row["symbol"]]
        assert row["windows"] == WINDOWS and row["avg_div"] == pytest.approx(sum(mine) / len(mine))
        assert row["max_div"] == pytest.approx(max(mine))
        assert float(daily[row["symbol"]]["avg_divergence"]) == pytest.approx(row["avg_div"], abs=5e-5)
        assert row["overfitting_count"] == sum(w["is_overfitting"] for w in windows if w["symbol"] == row["symbol"])

    perf = query(db_url, "model_performance_metrics", window=timedelta(days=7))
    assert [(r["model_count"], r["is_baseline"], r["horizon"], r["windows"]) for r in perf] == [
        (2, False, "1D", WINDOWS * 3), (4, True, "1D", WINDOWS * 3)]
    trends = query(db_url, "canary_rmse_trends", symbols=SYMBOLS, window=timedelta(hours=24))
    gaps = {r["symbol"]: r["rmse_gap"] for r in query(db_url, "rmse_comparison", window=timedelta(days=7))}
    for row in trends:
        assert row["rmse_diff"] == pytest.approx(row["avg_test"] - row["avg_val"])
        assert float(gaps[row["symbol"]]) == pytest.approx(row["rmse_diff"], abs=5e-7)

    code = rollout_review.main(["--phase", "local", "--days", "1", "--out-dir", str(tmp_path)], env={"DATABASE_URL": db_url})
    out = capsys.readouterr().out
    assert code in (0, 3), out  # model quality may vary; the job's rows must never look broken
    for check in ("uncaught_errors", "missing_forecasts", "inconsistent_forecasts", "logging"):
        assert not re.search(rf"\[(MONITOR|ROLLBACK)\] {check}:", out), out
    report = (tmp_path / "rollout_review_local.md").read_text()
    for sym in SYMBOLS:
        assert re.search(rf"\| {sym} \| 1D \| 1 \| {WINDOWS} \|", report), sym
        assert f"{sym} 1D" in (tmp_path / "rollout_review_local.html").read_text()
