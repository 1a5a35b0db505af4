"""The whole Review, every check's name, verdict, summary and findings: what the review prints and the gate quotes.

``test_review_checks`` pins the decisions at their boundaries; here every field is read back, so a
check that says the wrong thing (a changed message, a lost finding, a Review without its figures)
fails too. Also the bounds that the decisions alone cannot see: a symbol exactly on the coverage
band is not named as an outlier; exactly the minimum run days is enough.
"""

from __future__ import annotations

import pytest

from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import (
    Check,
    Decision,
    Incident,
    Review,
    SymbolHorizonStats,
    check_coverage,
    check_divergence,
    check_duration,
    check_incidents,
    check_rmse,
    evaluate,
    pct,
    phase_coverage,
    storm_period,
)
from tests.unit.test_review_checks import stats

T = Thresholds()
P, M, R = Decision.PROCEED, Decision.MONITOR, Decision.ROLLBACK
QUIET = (  # the checks after coverage, with nothing to report
    Check("model_errors", P, "no model errors"),
    Check("uncaught_errors", P, "no symbol failed in code in any run"),
    Check("data_incidents", P, "0 data incident(s) on 0 symbol(s), 0 quarantined; at most 0.0% of a run's symbols "
          "refused (systemic above 25.0%): reported for the data team, not a rollback"),
    Check("missing_forecasts", P, "every symbol has a forecast on every run day"),
    Check("inconsistent_forecasts", P, "every forecast row is consistent"),
    Check("logging", P, "100% of forecasts and windows logged"),
    Check("alert_storms", P, "never more than 5 critical alerts in an hour"),
)


def test_a_healthy_review_says_what_each_check_found() -> None:
    rows = (stats(), stats("MSFT", avg_divergence=0.08))
    review = evaluate("canary", 7, rows, (), T, run_days=7)
    assert review == Review("canary", 7, P, (
        Check("duration", P, "canary has run on 7 days (minimum 7)"),
        Check("divergence", P, "every symbol-horizon averages below 15.0% (highest 8.0%)"),
        Check("rmse_vs_baseline", P, "every symbol-horizon within 5.0% of the baseline or better"),
        Check("overfitting", P, "every symbol-horizon below 10.0% of windows"),
        Check("coverage", P, "90% interval covers 90.0% of 40 windows' outcomes (within 85.0%-95.0%)"),
        *QUIET), rows, ())
    assert review.reasons[0] == "[PROCEED] duration: canary has run on 7 days (minimum 7)"


def test_a_failing_review_names_every_finding_under_its_check() -> None:
    rows = (stats(avg_divergence=0.30, rmse_change=0.12, overfitting_windows=3, model_errors=2, avg_coverage=0.80),
            stats("MSFT", avg_divergence=0.20, rmse_change=0.07), stats("SPY", rmse_change=None, paired_windows=0))
    incidents = tuple(Incident(k, "QQQ", "1D", f"{k} detail ") for k in
                      ("failure", "missing", "inconsistent", "logging", "alert_storm"))
    review = evaluate("canary", 7, rows, incidents, Thresholds(alert_storm_period_seconds=1_800), run_days=6)
    assert review == Review("canary", 7, R, (
        Check("duration", M, "1 borderline finding(s)", ("canary has run on 6 of its minimum 7 days",)),
        Check("divergence", R, "1 rollback finding(s)", (
            "AAPL 1D average divergence 30.0% > 25.0% (rollback trigger)",
            "MSFT 1D average divergence 20.0% is not below 15.0%")),
        Check("rmse_vs_baseline", R, "1 rollback finding(s)", (
            "AAPL 1D test RMSE +12.0% against the baseline (20 paired windows), more than 10.0% worse "
            "(rollback trigger)",
            "MSFT 1D test RMSE +7.0% against the baseline (20 paired windows), more than 5.0% worse",
            "SPY 1D has no paired baseline windows: RMSE against baseline unknown")),
        Check("overfitting", M, "1 borderline finding(s)", (
            "AAPL 1D 3 of 20 windows overfitting (15.0%), not below 10.0%",)),
        Check("coverage", P, "90% interval covers 86.7% of 60 windows' outcomes (within 85.0%-95.0%)"),
        Check("model_errors", M, "1 borderline finding(s)", ("AAPL 1D 2 model error(s) in 20 windows",)),
        Check("uncaught_errors", R, "1 rollback finding(s)", ("QQQ 1D: failure detail",)),
        QUIET[2],  # data incidents: none among these incidents
        *(Check(name, R, "1 rollback finding(s)", (f"QQQ 1D: {kind} detail",)) for name, kind in (
            ("missing_forecasts", "missing"), ("inconsistent_forecasts", "inconsistent"),
            ("logging", "logging"), ("alert_storms", "alert_storm")))), rows, incidents)


def test_nothing_to_review_keeps_the_phase_the_days_and_the_figures() -> None:
    rows = (stats(windows=0, avg_divergence=None),)
    review = evaluate("limited", 3, rows, (), T, run_days=9)
    assert review == Review("limited", 3, M, (
        Check("data", M, "no runs of phase limited in the last 3 day(s): nothing to review yet"),), rows, ())


def test_incidents_without_windows_are_still_reviewed() -> None:
    incident = Incident("failure", "AAPL", "1D", "boom")
    review = evaluate("canary", 7, (), (incident,), T)
    assert review.decision is R and review.incidents == (incident,)
    assert next(c for c in review.checks if c.name == "coverage") == Check("coverage", P, "no windows to judge")
    assert next(c for c in review.checks if c.name == "divergence").summary == (
        "every symbol-horizon averages below 15.0% (highest n/a)")


@pytest.mark.parametrize(("phase", "run_days", "expected"), [
    ("canary", 6, Check("duration", M, "1 borderline finding(s)", ("canary has run on 6 of its minimum 7 days",))),
    ("canary", 7, Check("duration", P, "canary has run on 7 days (minimum 7)")),
    ("canary", 8, Check("duration", P, "canary has run on 8 days (minimum 7)")),
    ("limited", 6, Check("duration", M, "1 borderline finding(s)", ("limited has run on 6 of its minimum 7 days",))),
    ("limited", 7, Check("duration", P, "limited has run on 7 days (minimum 7)")),
    ("canary", None, Check("duration", P, "duration not measured")),
    ("prod", 0, Check("duration", P, "no minimum duration for prod")),
    ("local", 0, Check("duration", P, "no minimum duration for local")),
])
def test_the_duration_check_at_and_around_each_minimum(phase: str, run_days: int | None, expected: Check) -> None:
    assert check_duration(phase, run_days) == expected


@pytest.mark.parametrize(("low", "high", "side"), [(0.85, 0.70, "too narrow"), (0.95, 1.0, "too wide")])
def test_a_symbol_exactly_on_the_coverage_band_is_not_named_an_outlier(low: float, high: float, side: str) -> None:
    # One symbol sits exactly on a bound of the band; the other drags the phase outside it.
    on_bound, outlier = stats(avg_coverage=low, coverage_windows=10), stats("MSFT", avg_coverage=high, coverage_windows=30)
    coverage = (low * 10 + high * 30) / 40
    assert check_coverage([on_bound, outlier], T) == Check("coverage", M, "2 borderline finding(s)", (
        f"phase coverage {pct(coverage)} over 40 windows is outside 85.0%-95.0%: intervals {side}",
        f"MSFT 1D coverage {pct(high)} over 30 windows"))


def test_no_recorded_coverage_is_one_borderline_finding() -> None:
    assert check_coverage([stats(avg_coverage=None, coverage_windows=0)], T) == Check(
        "coverage", M, "1 borderline finding(s)", ("no window recorded its interval coverage: calibration unknown",))


@pytest.mark.parametrize(("value", "text"), [(None, "n/a"), (0.0, "0.0%"), (0.12345, "12.3%"), (1.0, "100.0%")])
def test_pct(value: float | None, text: str) -> None:
    assert pct(value) == text


def test_shares_and_labels_of_a_symbol_horizon() -> None:
    row = SymbolHorizonStats("SPY", "4h", windows=8, overfitting_windows=2, forecasts=3, failures=1, missing=1)
    assert (row.label, row.overfitting_share, row.generated_share) == ("SPY 4h", 0.25, 0.6)
    assert (SymbolHorizonStats("SPY", "4h").overfitting_share, SymbolHorizonStats("SPY", "4h").generated_share) == (
        None, None)
    assert [(d.exit_code, d.rank) for d in Decision] == [(0, 0), (3, 1), (4, 2)]


def test_a_symbol_without_windows_does_not_hide_the_ones_after_it() -> None:
    rows = [stats(windows=0, avg_divergence=None), stats("MSFT", avg_divergence=0.30)]
    assert check_divergence(rows, T) == Check("divergence", R, "1 rollback finding(s)", (
        "MSFT 1D average divergence 30.0% > 25.0% (rollback trigger)",))


@pytest.mark.parametrize(("seconds", "words"), [(3_600, "an hour"), (1_800, "30 minutes"), (7_200, "120 minutes")])
def test_the_storm_period_in_words(seconds: int, words: str) -> None:
    t = Thresholds(alert_storm_period_seconds=seconds)
    assert storm_period(t) == words
    assert check_incidents("alert_storms", (), {"alert_storm"}, f"never more than 5 critical alerts in {words}") == (
        evaluate("canary", 7, (stats(),), (), t).checks[-1])


def test_rmse_rows_skipped_for_want_of_windows_or_baseline_do_not_hide_the_ones_after_them() -> None:
    bad = stats("MSFT", rmse_change=0.12)
    finding = ("MSFT 1D test RMSE +12.0% against the baseline (20 paired windows), more than 10.0% worse "
               "(rollback trigger)")
    for skipped, required in ((stats(windows=0), True), (stats(rmse_change=None, paired_windows=0), False)):
        assert check_rmse([skipped, bad], T, require_baseline=required) == Check(
            "rmse_vs_baseline", R, "1 rollback finding(s)", (finding,))


def test_the_baseline_is_required_unless_said_otherwise() -> None:
    assert check_rmse([stats(rmse_change=None, paired_windows=0)], T).status is M


def test_the_phase_coverage_weighs_each_symbol_by_its_windows_and_counts_them() -> None:
    assert phase_coverage([stats(avg_coverage=0.8, coverage_windows=10), stats("MSFT", avg_coverage=1.0,
                                                                               coverage_windows=30)]) == (0.95, 40)
    assert phase_coverage([stats(avg_coverage=None, coverage_windows=0)]) == (None, 0)
