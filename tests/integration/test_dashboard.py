"""The local dashboard: rendered from a real demo run, and from crafted rows with known figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from html import unescape
from pathlib import Path

import pytest

from jobs.contract import metrics
from jobs.contract.config import JobConfig
from jobs.contract.domain import Model
from jobs.contract.thresholds import Thresholds
from jobs.dashboard import main
from jobs.monitoring import publisher
from jobs.monitoring.dashboard import load_dashboard, render_html, status
from jobs.monitoring.runs import horizon_aggregate
from jobs.storage.db import with_retry
from jobs.storage.forecasts import write_outcome
from tests.support.fixtures import scratch_database
from tests.unit.test_metrics import expand, failed, find, outcome

CHARTS = ("1D: divergence vs naive by run", "1D: validation vs test RMSE by run", "Max window divergence per symbol",
          "1D: test RMSE vs the paired baseline by run", "Share of overfitting windows",
          "Raw test/validation RMSE ratio (not the guard's figure)", "Forecasts written, failed (code) and refused (data) per day")
SERIES = re.compile(r'aria-roledescription="series"')


@pytest.fixture(scope="module")
def demo_url(pg_server_url: str, legacy_demo_template: str) -> Iterator[str]:
    """A database the demo command ran against, with the paired legacy baseline (``tests.support.demo_run``)."""
    with scratch_database(pg_server_url, "dash", legacy_demo_template) as url:
        yield url


def svgs(html: str) -> dict[str, str]:
    """Each inline SVG chart by its title."""
    return {unescape(re.search(r"<title>(.*?)</title>", s).group(1)): s for s in re.findall(r"<svg.*?</svg>", html, re.S)}


def test_page_from_a_demo_run_charts_the_run_symbols(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "dashboard.html"
    assert main(["--out", str(out), "--days", "7"], {"DATABASE_URL": demo_url}) == 0
    html = out.read_text()
    charts = svgs(html)
    assert set(CHARTS) <= set(charts)
    for title in ("Max window divergence per symbol", "Share of overfitting windows"):
        assert all(f">{s} 1D<" in charts[title] for s in ("AAPL", "MSFT", "SPY")), title
    # One run: each symbol's figures are drawn as values (a bar each), with the worst window beside them.
    trend = charts["1D: divergence vs naive by run"]
    assert all(f">{s}<" in trend for s in ("AAPL", "MSFT", "SPY", "max window, all symbols"))
    assert len(SERIES.findall(trend)) == 4 and "one run (" in trend
    assert len(SERIES.findall(charts["1D: test RMSE vs the paired baseline by run"])) == 3
    # Calibration: each symbol's interval coverage (the IntervalCoverage metric) against the review band.
    coverage = charts["1D: 90% interval coverage by run"]
    assert len(SERIES.findall(coverage)) == 3 and "review band 85%" in coverage and "alarm below 80%" in coverage
    # Self-contained: no scripts, no external references.
    assert not re.search(r"<script|https?://|src=|href=|@import", html)


def crafted(db_url: str) -> str:
    """Rows with known figures, written by the job's own storage code."""
    cfg = JobConfig(stack="local", baseline_models=(Model.LSTM, Model.ARIMA_GARCH, Model.GB, Model.RF))
    rows = [outcome("AAPL", [0.1, 0.5], test=0.0105, baseline_test=0.01),
            outcome("MSFT", [0.05, 0.21], test=0.0099, baseline_test=0.01),
            outcome("SPY", [0.01], errors=1),
            failed("NVDA")]
    for o in rows:
        with_retry(db_url, lambda conn, o=o: write_outcome(conn, o, cfg, "run-crafted"))
    return db_url


def test_figures_and_statuses_from_known_rows(db_url: str) -> None:
    data = load_dashboard(crafted(db_url), days=7)
    assert data.symbols == ["AAPL", "MSFT", "NVDA", "SPY"]
    health = {r["symbol"]: r for r in data.health}
    assert health["AAPL"]["max_divergence"] == pytest.approx(0.5)
    assert health["AAPL"]["overfitting_windows"] == 1 and health["AAPL"]["critical_windows"] == 1
    assert {s: status(r, Thresholds()) for s, r in health.items()} == {
        "AAPL": "ROLLBACK", "MSFT": "REVIEW", "NVDA": "FAILED", "SPY": "ROLLBACK"}
    gap = {r["symbol"]: r["rmse_vs_baseline"] for r in data.baseline}
    assert gap == {"AAPL": pytest.approx(0.05), "MSFT": pytest.approx(-0.01)}
    assert [(a["symbol"], a["is_critical"]) for a in data.alerts] == [("AAPL", True), ("MSFT", False)]
    (gen,) = data.generation
    assert (gen["written"], gen["failed"]) == (3, 1)
    html = render_html(data)
    assert '<span class="FAILED">FAILED</span>' in html and ">NVDA<" in html


def test_empty_database_renders_a_page(db_url: str) -> None:
    html = render_html(load_dashboard(db_url, days=1))
    assert "Symbols: none" in html and "No paired baseline rows" in html


def test_bad_days_exit_2(db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--days", "0", "--out", str(tmp_path / "x.html")], {"DATABASE_URL": db_url}) == 2
    assert "--days='0' is invalid" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_a_stacks_rollback_threshold_reaches_the_dashboard(db_url: str) -> None:
    """The dashboard reads the environment's thresholds (rendered by the stack), not code constants."""
    stricter = Thresholds(divergence_rollback=0.12, divergence_proceed=0.1)  # MSFT averages 13%
    data = load_dashboard(crafted(db_url), days=7, thresholds=stricter)
    statuses = {r["symbol"]: status(r, stricter) for r in data.health}
    default = {r["symbol"]: status(r, Thresholds()) for r in data.health}
    assert statuses != default, "a lower rollback threshold must change some symbol's status"
    assert statuses["MSFT"] == "ROLLBACK" and default["MSFT"] == "REVIEW"
    assert "rollback 12%" in render_html(data)


def test_run_figures_are_the_published_metrics_and_the_alarms_statistics(db_url: str) -> None:
    """Per run and symbol, the dashboard's figures equal what the job publishes; per horizon, the alarms' statistics."""
    cfg = JobConfig(stack="local", baseline_models=(Model.LSTM, Model.ARIMA_GARCH, Model.GB, Model.RF))
    outcomes = [outcome("AAPL", [0.1, 0.5], test=0.0105, baseline_test=0.01),
                outcome("MSFT", [0.05, 0.21, -0.02], test=0.0099, baseline_test=0.01),
                outcome("SPY", [0.01], errors=1)]
    for o in outcomes:
        with_retry(db_url, lambda conn, o=o: write_outcome(conn, o, cfg, "run-published"))
    data = load_dashboard(db_url, days=1)
    figures = {f.symbol: f for f in data.runs}
    assert set(figures) == {"AAPL", "MSFT", "SPY"} and {f.run_id for f in data.runs} == {"run-published"}
    assert len({f.run_at for f in data.runs}) == 1, "one run is one point in time for every symbol"
    for o in outcomes:
        published, f = publisher.outcome_values(o, cfg), figures[o.symbol]
        assert f.symbol_average_divergence == pytest.approx(published[metrics.SYMBOL_AVERAGE_DIVERGENCE][0])
        assert f.max_divergence == pytest.approx(max(published[metrics.DIVERGENCE]))
        assert f.windows_evaluated == published[metrics.WINDOWS_EVALUATED][0]
        assert f.overfitting_windows == published[metrics.OVERFITTING_WINDOWS][0]
        assert f.model_errors == published[metrics.MODEL_ERRORS][0]
        gap = published[metrics.RMSE_VS_BASELINE]
        assert f.rmse_vs_baseline == (pytest.approx(gap[0]) if gap else None)
    datums = publisher.build_datums(outcomes, cfg, datetime.now(timezone.utc))

    def horizon_values(name: str) -> list[float]:
        return expand(find(datums, name, Stack="local", Horizon="1D"))

    (agg,) = horizon_aggregate(data.runs)
    assert agg.values["divergence"] == pytest.approx(max(horizon_values(metrics.DIVERGENCE)))
    assert agg.values["rollback-divergence"] == pytest.approx(max(horizon_values(metrics.SYMBOL_AVERAGE_DIVERGENCE)))
    gaps = horizon_values(metrics.RMSE_VS_BASELINE)
    assert agg.values["rmse-vs-baseline"] == pytest.approx(max(gaps))
    assert agg.values["rollback-rmse"] == pytest.approx(sum(gaps) / len(gaps))
    assert agg.values["model-errors"] == sum(horizon_values(metrics.MODEL_ERRORS)) == 1


def test_trends_run_against_the_run_time_not_the_windows_test_dates(db_url: str) -> None:
    """Two runs, windows tested in May 2026: the x axis spans the runs (today), one line per symbol."""
    cfg = JobConfig(stack="local")
    for run in ("run-a", "run-b"):
        for o in (outcome("AAPL", [0.1, 0.2]), outcome("SPY", [0.01, 0.03])):
            with_retry(db_url, lambda conn, o=o, run=run: write_outcome(conn, o, cfg, run))
    html = render_html(load_dashboard(db_url, days=1))
    trend = svgs(html)["1D: divergence vs naive by run"]
    axis = re.search(r"aria-label=\"X-axis titled 'run time \(UTC\)'[^\"]*\"", trend.replace("&#39;", "'"))
    assert axis is not None, "the trend's x axis is the run time"
    today = datetime.now(timezone.utc)
    assert f"{today:%B}" in axis.group(0) and "May" not in axis.group(0)
    assert len(SERIES.findall(trend)) == 3  # AAPL, SPY and the worst window over both
