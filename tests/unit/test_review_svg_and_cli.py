"""SVG charts are self-contained and escaped; the review CLI refuses bad input with one line and exit 2."""

from __future__ import annotations

import re

import pytest

from jobs import rollout_review
from jobs.monitoring.charts import Threshold, bar_chart, line_chart


def test_bar_chart_draws_one_bar_per_known_value_and_escapes_labels() -> None:
    svg = bar_chart("Share <b>", ["A&B 1D", "C 1D", "D 1D"], [0.1, None, -0.05], [Threshold(0.15, "limit")])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 2 and "n/a" in svg
    assert "A&amp;B 1D" in svg and "Share &lt;b&gt;" in svg and "<b>" not in svg
    assert "10.0%" in svg and "-5.0%" in svg and "limit" in svg
    assert "http" not in svg and "<script" not in svg


def test_bar_chart_bars_grow_with_the_value() -> None:
    svg = bar_chart("t", ["a", "b"], [0.1, 0.2])
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])


def test_line_chart_splits_series_at_gaps() -> None:
    svg = line_chart("trend", ["d1", "d2", "d3", "d4"], {"AAPL 1D": [0.1, 0.2, None, 0.1], "MSFT 1D": [0.05] * 4})
    assert svg.count("<polyline") == 3  # AAPL in two pieces, MSFT in one
    assert "AAPL 1D" in svg and "MSFT 1D" in svg and "d4" in svg


@pytest.mark.parametrize("call", [
    lambda: bar_chart("t", ["a"], [0.1, 0.2]),
    lambda: line_chart("t", ["d1", "d2"], {"s": [0.1]}),
])
def test_mismatched_lengths_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: --phase"),
    (["--phase", "beta"], "argument --phase: invalid choice: 'beta'"),
    (["--phase", "canary", "--days", "0"], "'0' is invalid: expected a whole number of days from 1 to 365"),
    (["--phase", "canary", "--days", "week"], "'week' is invalid"),
    (["--phase", "canary", "--divergence-proceed", "15%"], "'15%' is not a number (use a fraction, e.g. 0.15 for 15%)"),
    (["--phase", "canary", "--divergence-proceed", "0.3"], "DIVERGENCE_PROCEED_THRESHOLD=0.3 must be below DIVERGENCE_ROLLBACK_THRESHOLD"),
    (["--phase", "canary", "--rmse-rollback", "0.01"], "RMSE_ESCALATION_THRESHOLD=0.05 must be below RMSE_ROLLBACK_THRESHOLD=0.01"),
])
def test_bad_cli_input_exits_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # No database is needed: input is checked before connecting.
    assert rollout_review.main(argv, env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_bad_database_url_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert rollout_review.main(["--phase", "canary"], env={"DATABASE_URL": "mysql://x"}) == 2
    assert "DATABASE_URL is invalid" in capsys.readouterr().err


def test_trend_chart_keeps_the_ten_worst_of_many_series() -> None:
    from datetime import date, datetime, timezone

    from jobs.contract.thresholds import Thresholds
    from jobs.rollout.checks import SymbolHorizonStats, evaluate
    from jobs.rollout.data import DailyPoint, ReviewData
    from jobs.rollout.report import charts

    syms = [f"S{i:02d}" for i in range(12)]
    stats = [SymbolHorizonStats(s, "1D", windows=4, runs=1, avg_divergence=i / 100, max_divergence=i / 100,
                                paired_windows=4, rmse_change=0.0) for i, s in enumerate(syms)]
    daily = tuple(DailyPoint(date(2026, 1, d), s, "1D", 4, i / 100) for i, s in enumerate(syms) for d in (1, 2))
    now = datetime(2026, 1, 3, tzinfo=timezone.utc)
    data = ReviewData("prod", now, now, tuple(stats), (), daily)
    trend, bars, *_ = charts(evaluate("prod", 2, stats, [], Thresholds()), data, Thresholds())
    assert "Average divergence per day (10 highest of 12)" in trend
    assert trend.count("<polyline") == 10 and "S11 1D" in trend and "S01 1D" not in trend
    assert bars.count("<rect") == 12  # the bar charts keep every symbol-horizon
