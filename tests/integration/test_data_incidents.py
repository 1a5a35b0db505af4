"""Data incidents from the real job: a stale feed (deployed: refused; local: a warning), 500 unknown
symbols named once each with nothing fitted, and a vendor outage that is systemic (ROLLBACK) while
one refused symbol is only reported, in the review, the daily checks and the dashboard."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from rich.console import Console

from jobs import daily_checks
from jobs.contract.thresholds import Thresholds
from jobs.monitoring.dashboard import load_dashboard, render_html
from jobs.rollout.checks import Decision
from jobs.rollout.review import review
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main

# The job's own settings, set for speed: one window, ARIMA_GARCH + RF, no baseline.
FAST = {"ENSEMBLE_MODEL_COUNT": "2", "ENABLE_LSTM": "false", "ENABLE_RF": "true", "ENABLE_WALK_FORWARD": "false",
        "BASELINE_MODELS": "none"}
STALE_MESSAGE = ("1d bars: the last bar (2026-11-20 00:00Z) is 9 XNYS sessions before the run's date 2026-12-04; "
                 "at most 3 allowed (MAX_STALE_SESSIONS): a stale feed")


def metrics(caplog: pytest.LogCaptureFixture, name: str, **dims: str) -> float:
    """The sum of a metric the publisher logged (no AWS credentials: it logs what it would send)."""
    total = 0.0
    for record in caplog.records:
        fields: dict[str, Any] = getattr(record, "fields", {}) or {}
        if fields.get("event") == "metric" and fields["metric"] == name and fields["dimensions"] == dims:
            total += sum(v * c for v, c in zip(fields["values"], fields["counts"], strict=True))
    return total


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_a_stale_feed_is_refused_when_deployed_and_a_warning_locally(
        db_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO, logger="jobs.monitoring.publisher")
    seed_sample_bars(db_url, ["AAPL"], ["1d"])  # its last bar: Friday 2026-11-20
    deployed = {**FAST, "DATABASE_URL": db_url, "ROLLOUT_PHASE": "canary", "DEPLOY_STACK": "canary"}
    argv = ["--symbols", "AAPL", "--horizon", "1D", "--workers", "1"]
    assert main([*argv, "--run-id", "deployed", "--as-of", "2026-12-04"], deployed) == 0
    assert f"data incident: AAPL 1D: {STALE_MESSAGE}" in capsys.readouterr().err
    assert rows(db_url, "SELECT symbol FROM forecasts") == []
    assert rows(db_url, "SELECT failure_class, cause, reason FROM forecast_failures") == [
        ("data", "stale", STALE_MESSAGE)]
    assert metrics(caplog, "DataIncidents", Stack="canary") == 1
    assert metrics(caplog, "ForecastsWritten", Stack="canary") == 0

    assert main([*argv, "--run-id", "fresh", "--as-of", "2026-11-24"], deployed) == 0  # 2 sessions: fresh
    assert not [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(("warning", "data incident"))]
    local = {**FAST, "DATABASE_URL": db_url}
    assert main([*argv, "--run-id", "local", "--as-of", "2026-12-04"], local) == 0
    assert (f"warning: AAPL 1D: {STALE_MESSAGE}; forecast anyway because ROLLOUT_PHASE=local (a deployed phase "
            "refuses it as a data incident)") in capsys.readouterr().err
    assert rows(db_url, "SELECT run_id FROM forecasts ORDER BY run_id") == [("local",)]  # same target: replaced


def test_500_unknown_symbols_are_named_once_each_and_nothing_is_fitted(
        db_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO)
    symbols = [f"U{i:03d}" for i in range(500)]
    env = {**FAST, "DATABASE_URL": db_url, "ROLLOUT_PHASE": "prod", "DEPLOY_STACK": "prod"}
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D,4h,8h", "--workers", "2", "--run-id", "typos"]
    assert main(argv, env) == 0
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if "unknown symbol" in ln and not ln.startswith("{")]
    assert lines == [f"data incident: unknown symbol {s}: no bars stored, nothing fitted" for s in symbols]
    assert "500 unknown symbol(s), nothing fitted: U000, U001," in captured.out
    assert rows(db_url, "SELECT cause, COUNT(*) FROM forecast_failures GROUP BY cause") == [("unknown-symbol", 1500)]
    assert rows(db_url, "SELECT COUNT(*) FROM ensemble_validation_metrics") == [(0,)]
    assert not [r for r in caplog.records if r.getMessage() == "task done"], "no task reached a worker"
    assert metrics(caplog, "DataIncidents", Stack="prod") == 1500
    assert metrics(caplog, "ForecastsExpected", Stack="prod") == 1500


def test_a_vendor_outage_is_systemic_while_one_refused_symbol_is_reported(db_url: str, tmp_path: Any) -> None:
    symbols = ["AAPL", "NVDA", "GOOGL", "AMZN"]
    seed_sample_bars(db_url, symbols, ["1d"])
    env = {**FAST, "DATABASE_URL": db_url, "ROLLOUT_PHASE": "prod", "DEPLOY_STACK": "prod"}
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D", "--workers", "1"]
    with psycopg.connect(db_url) as conn:  # one symbol's feed stopped a week before the others'
        conn.execute("DELETE FROM ohlc_bars WHERE symbol = 'NVDA' AND ts > '2026-11-13'")
    assert main([*argv, "--run-id", "one-stale", "--as-of", "2026-11-20"], env) == 0
    result, _ = review(db_url, "prod", 1, Thresholds(), require_baseline=False)
    checks = {c.name: c for c in result.checks}
    assert checks["data_incidents"].status is Decision.PROCEED and result.decision is not Decision.ROLLBACK
    assert "1 data incident(s) on 1 symbol(s)" in checks["data_incidents"].summary

    assert main([*argv, "--run-id", "outage", "--as-of", "2026-12-04"], env) == 0  # every feed stale
    result, _ = review(db_url, "prod", 1, Thresholds(), require_baseline=False)
    assert result.decision is Decision.ROLLBACK
    assert [r for r in result.reasons if r.startswith("[ROLLBACK]")] == [
        "[ROLLBACK] data_incidents: run outage: 4 of 4 symbols (100.0%) refused as data incidents, more than 25.0%: "
        "a systemic data outage (AAPL, AMZN, GOOGL, NVDA)"]

    console = Console(record=True, width=250, color_system=None)
    assert daily_checks.main(["--symbols", ",".join(symbols)], env={"DATABASE_URL": db_url}, console=console) == 0
    text = console.export_text()
    assert "4. Failures and data incidents (last 24 h)" in text
    nvda = [ln for ln in text.splitlines() if ln.lstrip("│ ").startswith("NVDA")]
    assert nvda and "stale" in nvda[-1] and "2" in nvda[-1].split() and "reported (data incident)" in nvda[-1]
    page = render_html(load_dashboard(db_url, 1))
    assert '<span class="REFUSED">REFUSED</span>' in page and "refused as data incidents" in page
