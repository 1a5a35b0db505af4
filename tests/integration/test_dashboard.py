"""The local dashboard: rendered from a real demo run, and from crafted rows with known figures."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest

from jobs.contract.config import JobConfig, Model
from jobs.dashboard import main
from jobs.monitoring.dashboard import load_dashboard, render_html, status
from jobs.storage.db import with_retry
from jobs.storage.forecasts import write_outcome
from jobs.unified_forecast_job import main as job_main
from tests.support.fixtures import with_dbname
from tests.unit.test_metrics import failed, outcome

DEMO = ["--symbols", "AAPL,MSFT,SPY", "--horizon", "1D", "--workers", "1"]
CHARTS = ("1D: validation vs test RMSE", "1D: divergence (mean and max)", "Max window divergence per symbol",
          "Test RMSE vs baseline (relative)", "Share of overfitting windows", "Mean test/validation RMSE ratio",
          "Average divergence per symbol", "Forecasts written and failed per day")


@pytest.fixture(scope="module")
def demo_url(pg_server_url: str) -> str:
    """A database the demo command ran against, with the paired legacy baseline."""
    name = f"dash_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated identifier
    url = with_dbname(pg_server_url, name)
    assert job_main(DEMO, {"DATABASE_URL": url, "BASELINE_MODELS": "LSTM,ARIMA_GARCH,GB,RF"}) == 0
    return url


def svgs(html: str) -> dict[str, str]:
    """Each inline SVG chart by its title."""
    return {re.search(r"<title>(.*?)</title>", s).group(1): s for s in re.findall(r"<svg.*?</svg>", html, re.S)}


def test_page_from_a_demo_run_charts_the_run_symbols(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "dashboard.html"
    assert main(["--out", str(out), "--days", "7"], {"DATABASE_URL": demo_url}) == 0
    html = out.read_text()
    charts = svgs(html)
    assert set(CHARTS) <= set(charts)
    for title in ("Max window divergence per symbol", "Test RMSE vs baseline (relative)",
                  "Average divergence per symbol", "Share of overfitting windows"):
        assert all(f">{s} 1D<" in charts[title] for s in ("AAPL", "MSFT", "SPY")), title
    # Validation and test RMSE are drawn as lines over the walk-forward periods.
    assert charts["1D: validation vs test RMSE"].count("<polyline") == 2
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
    assert {s: status(r, 0.2, 0.3) for s, r in health.items()} == {
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
