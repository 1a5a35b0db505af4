"""Charts (altair + vl-convert): self-contained SVG, one drawn item per value or series, hover titles,
trends against the run time, and the values themselves when there is only one run."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from jobs.contract.thresholds import Thresholds
from jobs.monitoring.charts import Point, Threshold, bar_chart, trend_chart
from jobs.monitoring.runs import RunFigures

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
SERIES = re.compile(r'<path[^>]*aria-roledescription="series"[^>]*>')


def bar_widths(svg: str) -> list[float]:
    """The drawn width of each bar, in order."""
    return [float(w) for w in re.findall(r'aria-roledescription="series" d="M[-\d.]+,[-\d.]+h([\d.]+)v', svg)]


def test_bar_chart_draws_one_bar_per_known_value_escapes_and_carries_no_url() -> None:
    svg = bar_chart("Share <b>", ["A&B 1D", "C 1D", "D 1D"], [0.1, None, -0.05], [Threshold(0.15, "limit 15%")])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(SERIES.findall(svg)) == 2 and ">n/a<" in svg
    assert "A&amp;B 1D" in svg and "Share &lt;b&gt;" in svg and "<b>" not in svg
    assert ">10.0%<" in svg and ">-5.0%<" in svg and ">limit 15%<" in svg
    assert not re.search(r"https?:|<script|href=|src=", svg)
    # Hover values: every bar has a <title> naming the label and the value.
    assert "<title>A&amp;B 1D: 10.0%</title>" in svg and "<title>D 1D: -5.0%</title>" in svg


def test_bar_lengths_follow_the_values() -> None:
    widths = bar_widths(bar_chart("t", ["a", "b", "c"], [0.1, 0.2, -0.05]))
    assert widths[1] == pytest.approx(2 * widths[0]) and widths[2] == pytest.approx(widths[0] / 2)


def test_trend_draws_one_line_per_series_against_the_run_time_with_hover_values() -> None:
    points = [Point(s, T0 + timedelta(days=d), v + d / 100) for d in range(4) for s, v in (("AAPL", 0.01), ("SPY", 0.05))]
    svg = trend_chart("Divergence vs naive by run", points, [Threshold(0.25, "rollback 25%")], axis_title="divergence")
    assert len(SERIES.findall(svg)) == 2
    assert "X-axis titled &#39;run time (UTC)&#39;" in svg or "X-axis titled 'run time (UTC)'" in svg
    assert ">Nov 26<" in svg and ">Nov 28<" in svg  # daily ticks, month and day
    assert "<title>SPY · run 2026-11-27 09:30 UTC: 7.0%</title>" in svg
    assert ">AAPL<" in svg and ">SPY<" in svg and ">rollback 25%<" in svg  # legend and threshold label


def test_one_run_shows_the_values_themselves() -> None:
    svg = trend_chart("Divergence vs naive by run", [Point("AAPL", T0, 0.012), Point("SPY", T0, -0.004)])
    assert len(SERIES.findall(svg)) == 2  # one bar per series
    assert ">1.2%<" in svg and ">-0.4%<" in svg
    assert "one run (2026-11-25 09:30 UTC): values shown" in svg


def test_non_finite_values_are_left_out() -> None:
    points = [Point("AAPL", T0 + timedelta(days=d), v) for d, v in enumerate((0.01, float("inf"), 0.02))]
    svg = trend_chart("t", points)
    assert len(SERIES.findall(svg)) == 1 and "inf" not in svg.lower()


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="expected one value per label"):
        bar_chart("t", ["a"], [0.1, 0.2])


def test_review_trend_keeps_the_ten_worst_of_many_series() -> None:
    from jobs.rollout.checks import SymbolHorizonStats, evaluate
    from jobs.rollout.data import ReviewData
    from jobs.rollout.report import charts

    syms = [f"S{i:02d}" for i in range(12)]
    stats = [SymbolHorizonStats(s, "1D", windows=4, runs=2, avg_divergence=i / 100, max_divergence=i / 100,
                                paired_windows=4, rmse_change=0.0) for i, s in enumerate(syms)]
    runs = tuple(RunFigures(f"run-{d}", s, "1D", T0 + timedelta(days=d), 4, i / 100, i / 100, 0.01, 0.01, 1.0, 0, 0,
                            0.0) for i, s in enumerate(syms) for d in (0, 1))
    data = ReviewData("prod", T0, T0 + timedelta(days=2), tuple(stats), (), runs)
    trend, _, bars, *_ = charts(evaluate("prod", 2, stats, [], Thresholds()), data, Thresholds())
    assert "Divergence vs naive by run (10 highest of 12)" in trend
    assert len(SERIES.findall(trend)) == 10 and ">S11 1D<" in trend and ">S01 1D<" not in trend
    assert len(SERIES.findall(bars)) == 12  # the bar charts keep every symbol-horizon
