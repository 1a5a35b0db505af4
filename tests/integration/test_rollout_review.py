"""The rollout review decides from real rows: one database per outcome, each trigger on its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jobs import rollout_review
from tests.support.rollout_rows import (
    CANARY,
    Run,
    add_failure,
    add_run,
    clean_canary,
    day_time,
    seed_symbols,
)

Builder = Callable[[psycopg.Connection[Any]], None]


def run_review(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = rollout_review.main(["--phase", "canary", "--days", "7", "--out-dir", str(tmp_path), *extra],
                               env={"DATABASE_URL": db_url})
    return code, capsys.readouterr().out


def build(db_url: str, builder: Builder) -> None:
    with psycopg.connect(db_url) as conn:
        builder(conn)


def failing_checks(out: str, status: str) -> set[str]:
    """Names of the checks printed with ``status``."""
    return set(re.findall(rf"\[{status}\] (\w+):", out))


def test_clean_canary_proceeds_and_lists_every_passed_check(db_url: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    build(db_url, clean_canary)
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 0
    assert out.startswith("PROCEED: canary over the last 7 day(s)")
    assert failing_checks(out, "PROCEED") == {
        "divergence", "rmse_vs_baseline", "overfitting", "model_errors", "uncaught_errors", "missing_forecasts",
        "inconsistent_forecasts", "logging", "alert_storms", "coverage", "duration", "data_incidents"}
    assert "[PROCEED] duration: canary has run on 7 days (minimum 7)" in out
    assert "[PROCEED] coverage: 90% interval covers 90.0% of 105 windows' outcomes (within 85.0%-95.0%)" in out
    assert "(highest 5.0%)" in out  # every symbol averages (0.04 + 0.06 + 0.05 + 0.03 + 0.07) / 5
    assert (tmp_path / "rollout_review_canary.md").read_text().count("| AAPL | 1D |") == 1


def _with_run(run: Run) -> Builder:
    def builder(conn: psycopg.Connection[Any]) -> None:
        clean_canary(conn, skip={(0, run.symbol)})
        add_run(conn, run)
    return builder


def _every_day(symbol: str, **kw: Any) -> Builder:
    def builder(conn: psycopg.Connection[Any]) -> None:
        clean_canary(conn, skip={(d, symbol) for d in range(7)})
        for d in range(7):
            add_run(conn, Run(f"run-{d}", symbol, "1D", day_time(d), **kw))
    return builder


def _coverage(value: float) -> Builder:
    def builder(conn: psycopg.Connection[Any]) -> None:
        seed_symbols(conn, CANARY)
        for d in range(7):
            for sym in CANARY:
                add_run(conn, Run(f"run-{d}", sym, "1D", day_time(d), coverage=value))
    return builder


MONITOR_CASES: dict[str, tuple[Builder, str, str]] = {
    "coverage_narrow": (_coverage(0.849), "coverage",
                        "phase coverage 84.9% over 105 windows is outside 85.0%-95.0%: intervals too narrow"),
    "coverage_wide": (_coverage(0.951), "coverage",
                      "phase coverage 95.1% over 105 windows is outside 85.0%-95.0%: intervals too wide"),
    "divergence": (_every_day("AAPL", divergences=(0.17, 0.19, 0.18, 0.16, 0.20)), "divergence",
                   "AAPL 1D average divergence 18.0% is not below 15.0%"),
    "rmse": (_every_day("MSFT", test_rmse=0.0111), "rmse_vs_baseline",
             "MSFT 1D test RMSE +5.7% against the baseline (35 paired windows), more than 5.0% worse"),
    "overfitting": (_every_day("SPY", divergences=(0.04, 0.06, 0.05, 0.03, 0.22)), "overfitting",
                    "SPY 1D 7 of 35 windows overfitting (20.0%), not below 10.0%"),
    "model_errors": (_with_run(Run("run-0", "AAPL", "1D", day_time(0), model_errors=1)), "model_errors",
                     "AAPL 1D 5 model error(s) in 35 windows"),
    "no_baseline": (_every_day("SPY", baseline_test_rmse=None), "rmse_vs_baseline",
                    "SPY 1D has no paired baseline windows"),
}


@pytest.mark.parametrize("case", sorted(MONITOR_CASES))
def test_borderline_metrics_monitor(case: str, db_url: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    builder, check, reason = MONITOR_CASES[case]
    build(db_url, builder)
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 3, out
    assert out.startswith("MONITOR:")
    assert failing_checks(out, "MONITOR") == {check}
    assert not failing_checks(out, "ROLLBACK")
    assert reason in out


def _storm(conn: psycopg.Connection[Any]) -> None:
    clean_canary(conn)
    # Two extra runs within the hour, each with one critical window per symbol: 6 alerts > 5.
    spiky = (0.04,) * 11 + (0.35,)
    for k, run_id in enumerate(("retry-a", "retry-b")):
        for sym in CANARY:
            add_run(conn, Run(run_id, sym, "1D", day_time(0) + timedelta(minutes=5 * (k + 1)), divergences=spiky))


def _failure(conn: psycopg.Connection[Any]) -> None:
    clean_canary(conn, skip={(2, "SPY")})
    add_failure(conn, "run-2", "SPY", "1D", "ValueError: bars end before the origin", day_time(2))


def _inconsistent(conn: psycopg.Connection[Any]) -> None:
    clean_canary(conn, skip={(1, "MSFT")})
    add_run(conn, Run("run-1", "MSFT", "1D", day_time(1), weights={"LSTM": 0.7, "ARIMA_GARCH": 0.7}))


ROLLBACK_CASES: dict[str, tuple[Builder, str, str]] = {
    "divergence": (_every_day("MSFT", divergences=(0.27, 0.29, 0.28, 0.26, 0.30)), "divergence",
                   "MSFT 1D average divergence 28.0% > 25.0% (rollback trigger)"),
    "rmse": (_every_day("AAPL", test_rmse=0.0121), "rmse_vs_baseline",
             "AAPL 1D test RMSE +15.2% against the baseline (35 paired windows), more than 10.0% worse"),
    "uncaught_error": (_failure, "uncaught_errors", "SPY 1D: run run-2 failed at"),
    "missing": (lambda conn: clean_canary(conn, skip={(3, "AAPL")}), "missing_forecasts", "AAPL 1D: no forecast on"),
    "inconsistent": (_inconsistent, "inconsistent_forecasts", "MSFT 1D: run run-1: weights do not sum to 1"),
    "logging": (_with_run(Run("run-0", "AAPL", "1D", day_time(0), windows=False)), "logging",
                "AAPL 1D: run run-0: forecast without windows"),
    "alert_storm": (_storm, "alert_storms", "6 critical alerts in the hour up to"),
}


@pytest.mark.parametrize("case", sorted(ROLLBACK_CASES))
def test_each_rollback_trigger_on_its_own(case: str, db_url: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    builder, check, reason = ROLLBACK_CASES[case]
    build(db_url, builder)
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 4, out
    assert out.startswith("ROLLBACK:")
    assert failing_checks(out, "ROLLBACK") == {check}
    assert reason in out


def test_no_runs_in_window_is_monitor_not_proceed(db_url: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    build(db_url, lambda conn: seed_symbols(conn, CANARY))
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 3
    assert "no runs of phase canary in the last 7 day(s)" in out


def test_rows_older_than_the_window_are_not_reviewed(db_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def builder(conn: psycopg.Connection[Any]) -> None:
        clean_canary(conn)
        # A terrible run ten days ago is outside a 7-day review but inside a 14-day one.
        for sym in CANARY:
            add_run(conn, Run("old", sym, "1D", day_time(10), divergences=(2.0,) * 5))
    build(db_url, builder)
    assert run_review(db_url, tmp_path, capsys)[0] == 0
    code = rollout_review.main(["--phase", "canary", "--days", "14", "--out-dir", str(tmp_path)],
                               env={"DATABASE_URL": db_url})
    assert code == 4


def test_thresholds_are_configurable_from_the_command_line(db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    build(db_url, MONITOR_CASES["divergence"][0])
    code, out = run_review(db_url, tmp_path, capsys, "--divergence-proceed", "0.20")
    assert code == 0, out
    code, out = run_review(db_url, tmp_path, capsys, "--divergence-rollback", "0.17")
    assert code == 4 and "AAPL 1D average divergence 18.0% > 17.0% (rollback trigger)" in out


def test_limited_review_covers_the_canary_symbols_it_inherited(db_url: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    def builder(conn: psycopg.Connection[Any]) -> None:
        clean_canary(conn)
        seed_symbols(conn, ("NVDA",), phase="limited")
        for d in range(7):
            add_run(conn, Run(f"run-{d}", "NVDA", "1D", day_time(d), phase="limited", divergences=(0.3,) * 5))
    build(db_url, builder)
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 0, "NVDA belongs to the limited phase, not to the canary"
    code = rollout_review.main(["--phase", "limited", "--out-dir", str(tmp_path)], env={"DATABASE_URL": db_url})
    out = capsys.readouterr().out
    assert code == 4 and "NVDA 1D average divergence 30.0%" in out
    assert "| AAPL | 1D |" in (tmp_path / "rollout_review_limited.md").read_text()


def test_html_report_carries_one_svg_per_chart_with_the_symbols(db_url: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    build(db_url, MONITOR_CASES["divergence"][0])
    run_review(db_url, tmp_path, capsys)
    page = (tmp_path / "rollout_review_canary.html").read_text()
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    titles = [re.search(r"<title>(.*?)</title>", s).group(1) for s in svgs]  # type: ignore[union-attr]
    assert titles == ["Divergence vs naive by run", "Test RMSE vs the paired baseline by run",
                      "Average divergence vs naive per symbol-horizon", "Test RMSE against the paired baseline",
                      "Share of overfitting windows"]
    for svg in svgs:
        for sym in CANARY:
            assert f"{sym} 1D" in svg
    # One divergence line per symbol over the 7 runs, each point the run's SymbolAverageDivergence.
    trend = svgs[0]
    assert len(re.findall(r'aria-roledescription="series"', trend)) == 3
    assert len(re.findall(r"<title>AAPL 1D · run [\d-]+ [\d:]+ UTC: 18\.0%</title>", trend)) == 7
    assert len(re.findall(r"<title>MSFT 1D · run [\d-]+ [\d:]+ UTC: 5\.0%</title>", trend)) == 7
    assert not re.search(r"https?:|<script|src=|href=", page)
    assert "Decision: <span class='MONITOR'>MONITOR</span>" in page


def test_report_table_counts_generation_per_symbol(db_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    build(db_url, ROLLBACK_CASES["missing"][0])
    assert run_review(db_url, tmp_path, capsys)[0] == 4
    rows = {line.split(" | ")[0].lstrip("| "): line for line in
            (tmp_path / "rollout_review_canary.md").read_text().splitlines() if line.startswith("| ") and " | 1D | " in line}
    # AAPL skipped one of 7 days: 6 runs, 30 windows, 6 forecasts, 1 missing -> 6/7 generated.
    assert rows["AAPL"] == ("| AAPL | 1D | 6 | 30 | 5.0% | 7.0% | 0 (0.0%) | -4.8% | 0 | 6 | 0 | 0 | 1 | 85.7% | 0 | "
                            "100.0% | 90.0% |")
    assert rows["MSFT"].endswith("| 7 | 0 | 0 | 0 | 100.0% | 0 | 100.0% | 90.0% |")


def test_a_clean_canary_younger_than_its_minimum_days_cannot_proceed(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/design.md §3.5: a phase cannot PROCEED before its minimum days (7 for canary), however clean."""
    build(db_url, lambda conn: clean_canary(conn, days=5))
    code, out = run_review(db_url, tmp_path, capsys)
    assert code == 3 and out.startswith("MONITOR: canary over the last 7 day(s)")
    assert failing_checks(out, "MONITOR") == {"duration"}
    assert "canary has run on 5 of its minimum 7 days" in out
