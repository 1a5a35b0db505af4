"""Decision rules on figures alone: thresholds, boundaries, the worst check decides, reasons listed."""

from __future__ import annotations

import pytest

from jobs.contract.phases import covered_phases
from jobs.contract.thresholds import Thresholds
from jobs.rollout.checks import (
    Decision,
    Incident,
    SymbolHorizonStats,
    evaluate,
)


def stats(symbol: str = "AAPL", **kw: object) -> SymbolHorizonStats:
    base: dict[str, object] = dict(windows=20, runs=5, avg_divergence=0.05, max_divergence=0.08,
                                   overfitting_windows=0, paired_windows=20, rmse_change=-0.02, forecasts=5,
                                   logged_share=1.0, avg_coverage=0.90, coverage_windows=20)
    return SymbolHorizonStats(symbol, "1D", **{**base, **kw})  # type: ignore[arg-type]


def decide(*rows: SymbolHorizonStats, incidents: tuple[Incident, ...] = (), t: Thresholds | None = None) -> Decision:
    return evaluate("canary", 7, rows, incidents, t or Thresholds()).decision


@pytest.mark.parametrize("coverage, expected", [
    (0.8499, Decision.MONITOR), (0.85, Decision.PROCEED), (0.95, Decision.PROCEED), (0.9501, Decision.MONITOR)])
def test_coverage_band_is_the_phase_average(coverage: float, expected: Decision) -> None:
    # The phase figure weighs symbols by their windows: 3 windows at `coverage`, 1 at `coverage` too.
    assert decide(stats(avg_coverage=coverage, coverage_windows=30), stats("MSFT", avg_coverage=coverage,
                                                                          coverage_windows=10)) is expected


def test_coverage_phase_figure_pools_windows_and_names_the_outliers() -> None:
    # 30 windows at 96% and 10 at 70%: phase 89.5%, inside the band although MSFT alone is far off.
    review = evaluate("canary", 7, [stats(avg_coverage=0.96, coverage_windows=30),
                                    stats("MSFT", avg_coverage=0.70, coverage_windows=10)], (), Thresholds())
    (cov,) = [c for c in review.checks if c.name == "coverage"]
    assert cov.status is Decision.PROCEED and "89.5%" in cov.summary
    review = evaluate("canary", 7, [stats(avg_coverage=0.80, coverage_windows=30),
                                    stats("MSFT", avg_coverage=0.90, coverage_windows=10)], (), Thresholds())
    (cov,) = [c for c in review.checks if c.name == "coverage"]
    assert cov.status is Decision.MONITOR
    assert cov.findings[0].startswith("phase coverage 82.5% over 40 windows is outside 85.0%-95.0%: intervals too narrow")
    assert cov.findings[1:] == ("AAPL 1D coverage 80.0% over 30 windows",)
    # No coverage recorded at all (rows from before it was): calibration unknown, so not PROCEED.
    assert decide(stats(avg_coverage=None, coverage_windows=0)) is Decision.MONITOR
    # The band comes from the thresholds.
    assert decide(stats(avg_coverage=0.82), t=Thresholds(coverage_review_low=0.81)) is Decision.PROCEED


@pytest.mark.parametrize("avg, expected", [
    (0.1499, Decision.PROCEED), (0.15, Decision.MONITOR), (0.25, Decision.MONITOR), (0.2501, Decision.ROLLBACK)])
def test_divergence_boundaries(avg: float, expected: Decision) -> None:
    assert decide(stats(), stats("MSFT", avg_divergence=avg)) is expected


@pytest.mark.parametrize("change, expected", [
    (-0.30, Decision.PROCEED), (0.05, Decision.PROCEED), (0.0501, Decision.MONITOR), (0.10, Decision.MONITOR),
    (0.1001, Decision.ROLLBACK)])
def test_rmse_against_baseline_boundaries(change: float, expected: Decision) -> None:
    assert decide(stats(rmse_change=change)) is expected


def test_overfitting_share_boundary() -> None:
    assert decide(stats(overfitting_windows=1)) is Decision.PROCEED  # 5%
    assert decide(stats(overfitting_windows=2)) is Decision.MONITOR  # 10% is not below 10%


def test_missing_baseline_monitors_unless_not_required() -> None:
    row = stats(rmse_change=None, paired_windows=0)
    assert decide(row) is Decision.MONITOR
    assert evaluate("canary", 7, [row], [], Thresholds(), require_baseline=False).decision is Decision.PROCEED


@pytest.mark.parametrize("kind", ["failure", "missing", "inconsistent", "logging", "alert_storm"])
def test_any_incident_rolls_back(kind: str) -> None:
    review = evaluate("canary", 7, [stats()], [Incident(kind, "SPY", "1D", "detail text")], Thresholds())
    assert review.decision is Decision.ROLLBACK and review.decision.exit_code == 4
    assert [r for r in review.reasons if r.startswith("[ROLLBACK]")] == [
        f"[ROLLBACK] {next(c.name for c in review.checks if c.status is Decision.ROLLBACK)}: SPY 1D: detail text"]


def test_worst_check_decides_and_every_reason_is_listed_worst_first() -> None:
    review = evaluate("canary", 7, [stats(avg_divergence=0.30), stats("MSFT", model_errors=2)], [], Thresholds())
    assert review.decision is Decision.ROLLBACK
    assert review.reasons == (
        "[ROLLBACK] divergence: AAPL 1D average divergence 30.0% > 25.0% (rollback trigger)",
        "[MONITOR] model_errors: MSFT 1D 2 model error(s) in 20 windows",
    )


def test_nothing_to_review_is_monitor() -> None:
    review = evaluate("limited", 3, [], [], Thresholds())
    assert review.decision is Decision.MONITOR and review.decision.exit_code == 3
    assert review.reasons == ("[MONITOR] data: no runs of phase limited in the last 3 day(s): nothing to review yet",)


def test_an_all_failed_phase_still_rolls_back() -> None:
    assert decide(incidents=(Incident("failure", "AAPL", "1D", "boom"),)) is Decision.ROLLBACK


@pytest.mark.parametrize("kwargs, message", [
    ({"divergence_proceed": 0.3}, "DIVERGENCE_PROCEED_THRESHOLD=0.3 must be below DIVERGENCE_ROLLBACK_THRESHOLD=0.25"),
    ({"rmse_escalation": 0.2}, "RMSE_ESCALATION_THRESHOLD=0.2 must be below RMSE_ROLLBACK_THRESHOLD=0.1"),
    ({"divergence_warning": 0.3}, "DIVERGENCE_THRESHOLD=0.3 must be below DIVERGENCE_CRITICAL_THRESHOLD=0.3"),
    ({"overfitting_share": 0.0}, "OVERFITTING_SHARE_THRESHOLD=0.0 is invalid"),
    ({"divergence_critical": float("nan")}, "DIVERGENCE_CRITICAL_THRESHOLD=nan is invalid"),
    ({"overfitting_share": 1.5}, "OVERFITTING_SHARE_THRESHOLD=1.5 is invalid: expected a share in (0, 1]"),
    ({"alert_storm_count": -1}, "ALERT_STORM_COUNT=-1 is invalid"),
    ({"alert_storm_period_seconds": 90}, "ALERT_STORM_PERIOD_SECONDS=90 is invalid"),
])
def test_bad_thresholds_are_refused_with_the_name(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_thresholds_default_to_the_rollout_document() -> None:
    t = Thresholds()
    assert (t.divergence_warning, t.divergence_critical, t.divergence_proceed, t.divergence_rollback,
            t.overfitting_share, t.rmse_escalation, t.rmse_rollback, t.alert_storm_count,
            t.alert_storm_period_seconds) == (0.20, 0.30, 0.15, 0.25, 0.10, 0.05, 0.10, 5, 3600)


def test_phases_cover_the_symbols_they_inherited() -> None:
    assert covered_phases("canary") == ["canary"]
    assert covered_phases("limited") == ["canary", "limited"]
    assert covered_phases("prod") == ["canary", "limited", "prod"]
    assert covered_phases("local") == ["local"]
    with pytest.raises(ValueError, match="phase 'beta' is invalid: expected one of local, canary, limited, prod"):
        covered_phases("beta")
