"""The one table of rollout triggers holds the review, the daily checks and the docs together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import (
    TRIGGERS,
    Trigger,
    Verdict,
    _check_table,
    alarm_keys,
    applies,
    by_check,
    criteria_markdown,
    for_phase,
    markdown_table,
    verdict_of,
)
from jobs.rollout.checks import (
    Check,
    Decision,
    Incident,
    RunShare,
    SymbolHorizonStats,
    check_data_incidents,
    check_divergence,
    evaluate,
)
from jobs.rollout.daily import divergence_trigger
from tests.support.stacks import ROOT

T = Thresholds()


def healthy(**changes: object) -> SymbolHorizonStats:
    """A symbol-horizon that passes every check, with ``changes``."""
    base = dict(windows=10, runs=5, avg_divergence=0.05, max_divergence=0.08, paired_windows=10, rmse_change=-0.01,
                forecasts=5, logged_share=1.0, avg_coverage=0.90, coverage_windows=10)
    return SymbolHorizonStats("AAPL", "1D", **{**base, **changes})  # type: ignore[arg-type]


def incident(kind: str) -> Callable[[], tuple[list[SymbolHorizonStats], list[Incident]]]:
    return lambda: ([healthy()], [Incident(kind, "AAPL", "1D", "seeded")])


def other(symbol: str, **changes: object) -> SymbolHorizonStats:
    return replace(healthy(**changes), symbol=symbol)


# 20 symbols, 2 of them (10%) averaging 21%: limited wants 95% below 20%.
LIMITED_FLEET = [other(f"S{i:02d}", avg_divergence=0.21 if i < 2 else 0.05) for i in range(20)]
# A run that refused 4 of 12 symbols (33%): systemic above 25% and at least 3.
SYSTEMIC = (RunShare("r1", 12, ("A", "B", "C", "D")),)
# Trigger name -> the figures that fire it (and nothing else). A new trigger needs its scenario here.
# A scenario may add the phase's run days (default 7, the canary's minimum) and run shares; it is
# evaluated in the first deployed phase the trigger applies to.
SCENARIOS: dict[str, Callable[[], tuple[object, ...]]] = {
    "no-runs": lambda: ([], []),
    "phase-too-young": lambda: ([healthy()], [], 3),
    "divergence-high": lambda: ([healthy(avg_divergence=0.18)], []),
    "divergence-rollback": lambda: ([healthy(avg_divergence=0.30)], []),
    "rmse-escalation": lambda: ([healthy(rmse_change=0.07)], []),
    "rmse-no-baseline": lambda: ([healthy(rmse_change=None, paired_windows=0)], []),
    "rmse-rollback": lambda: ([healthy(rmse_change=0.12)], []),
    "overfitting-share": lambda: ([healthy(overfitting_windows=2)], []),
    "model-errors": lambda: ([healthy(model_errors=1)], []),
    "uncaught-errors": incident("failure"),
    "missing-forecasts": incident("missing"),
    "inconsistent-forecasts": incident("inconsistent"),
    "logging-gaps": incident("logging"),
    "alert-storm": incident("alert_storm"),
    "coverage-low": lambda: ([healthy(avg_coverage=0.80)], []),
    "coverage-high": lambda: ([healthy(avg_coverage=0.97)], []),
    "coverage-unknown": lambda: ([healthy(avg_coverage=None, coverage_windows=0)], []),
    "divergence-symbol-share": lambda: (LIMITED_FLEET, []),
    "divergence-warning": lambda: ([healthy(avg_divergence=0.22)], []),
    "coverage-missing": lambda: ([healthy(), other("MSFT", avg_coverage=None, coverage_windows=0)], []),
    "data-incidents-systemic": lambda: ([healthy()], [Incident("data", "A", "1D", "stale")], 7, SYSTEMIC),
}


def phase_of(trigger: object) -> str:
    return next(p for p in ("canary", "limited", "prod") if p in trigger.phases)  # type: ignore[attr-defined]


def test_every_trigger_has_a_scenario() -> None:
    assert set(SCENARIOS) == {t.name for t in TRIGGERS}


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t.name)
def test_each_review_check_decides_what_the_table_says(trigger: object) -> None:
    stats, incidents, *more = SCENARIOS[trigger.name]()  # type: ignore[attr-defined]
    days, runs = [*more, 7, ()][:2] if not more else (more[0], more[1] if len(more) > 1 else ())
    review = evaluate(phase_of(trigger), 7, stats, incidents, T, run_days=days, runs=runs)  # type: ignore[arg-type]
    fired = [c for c in review.checks if c.status is not Decision.PROCEED]
    assert [(c.name, c.status.value) for c in fired] == [(trigger.check, trigger.verdict.value)]  # type: ignore[attr-defined]
    assert review.decision.value == trigger.verdict.value  # type: ignore[attr-defined]


def test_the_review_runs_exactly_the_tables_checks() -> None:
    review = evaluate("canary", 7, [healthy()], [], T, run_days=7)
    assert review.decision is Decision.PROCEED
    assert {c.name for c in review.checks} | {"data"} == {t.check for t in TRIGGERS}


def test_a_verdict_the_table_does_not_declare_is_refused() -> None:
    assert verdict_of("uncaught_errors") is Verdict.ROLLBACK and verdict_of("model_errors") is Verdict.MONITOR
    with pytest.raises(ValueError, match="check 'overfitting' has no ROLLBACK trigger"):
        verdict_of("overfitting", Verdict.ROLLBACK)
    with pytest.raises(ValueError, match="several verdicts"):
        verdict_of("divergence")
    with pytest.raises(KeyError, match="no trigger for check 'calibration_drift'"):
        by_check("calibration_drift")


@pytest.mark.parametrize(("avg", "overfit", "expected"), [
    (0.05, 0, None), (0.15, 0, "divergence-high"), (0.251, 0, "divergence-rollback"), (0.05, 1, "overfitting-share"),
    (0.30, 1, "divergence-rollback")])
def test_daily_checks_mark_rows_with_the_tables_triggers(avg: float, overfit: int, expected: str | None) -> None:
    trig = divergence_trigger({"avg_div": avg, "windows": 5, "overfitting_count": overfit}, T)
    assert (trig.name if trig else None) == expected


def test_docs_rollout_table_is_the_tables_rendering() -> None:
    doc = (ROOT / "docs" / "rollout.md").read_text()
    assert markdown_table() in doc, "docs/rollout.md: paste jobs.contract.triggers.markdown_table() between the markers"
    start, end = doc.index("<!-- triggers:begin -->"), doc.index("<!-- triggers:end -->")
    assert doc[start:end].count("\n| `") == len(TRIGGERS)


@pytest.mark.parametrize(("name", "phase", "stats", "fires"), [
    ("divergence-high", "canary", [healthy(avg_divergence=0.18)], True),
    ("divergence-high", "limited", [healthy(avg_divergence=0.18)], False),
    ("divergence-high", "prod", [healthy(avg_divergence=0.18)], False),
    ("divergence-warning", "prod", [healthy(avg_divergence=0.22)], True),
    ("divergence-symbol-share", "limited", LIMITED_FLEET, True),
    ("coverage-missing", "limited", [healthy(), other("MSFT", avg_coverage=None, coverage_windows=0)], True),
    ("coverage-missing", "prod", [healthy(), other("MSFT", avg_coverage=None, coverage_windows=0)], False)])
def test_each_phase_applies_its_own_criteria(name: str, phase: str, stats: list[SymbolHorizonStats],
                                             fires: bool) -> None:
    review = evaluate(phase, 7, stats, [], T, run_days=7)
    assert (review.decision is Decision.MONITOR) is fires, review.reasons
    assert (name in {t.name for t in for_phase(phase)}) is fires


def test_a_limited_symbol_share_at_95_percent_passes() -> None:
    fleet = [other(f"S{i:02d}", avg_divergence=0.21 if i == 0 else 0.05) for i in range(20)]  # 95% below
    assert evaluate("limited", 7, fleet, [], T, run_days=7).decision is Decision.PROCEED
    assert evaluate("canary", 7, fleet, [], T, run_days=7).decision is Decision.MONITOR  # 21% is not below 15%


def test_a_limited_symbol_share_counts_each_symbols_worst_horizon_and_the_warning_itself() -> None:
    # S00's 1D averages 5% and its 5D 20%, the warning itself (not below it); S01's 1D 22% and its
    # 5D 5%: both count, whichever horizon comes first, so 18 of 20 symbols (90%) are below.
    fleet = [other(f"S{i:02d}") for i in range(2, 20)]
    fleet += [other("S00"), replace(other("S00", avg_divergence=0.20), horizon="5D"),
              other("S01", avg_divergence=0.22), replace(other("S01"), horizon="5D")]
    review = evaluate("limited", 7, fleet, [], T, run_days=7)
    assert review.reasons == ("[MONITOR] divergence: 90.0% of 20 symbols average below 20.0%, fewer than 95.0%: "
                              "S00, S01",)


@pytest.mark.parametrize(("phase", "rule"), [
    ("canary", "every symbol-horizon averages below 15.0%"),
    ("limited", "at least 95.0% of symbols average below 20.0%"),
    ("prod", "no symbol-horizon averages above 20.0%")])
def test_the_divergence_check_states_its_phases_rule_when_it_passes(phase: str, rule: str) -> None:
    assert check_divergence([healthy()], T, phase) == Check("divergence", Decision.PROCEED, f"{rule} (highest 5.0%)", ())


def test_the_divergence_check_applies_the_canarys_criterion_unless_told_the_phase() -> None:
    assert check_divergence([healthy(avg_divergence=0.18)], T).findings == (
        "AAPL 1D average divergence 18.0% is not below 15.0%",)


def test_prods_daily_warning_fires_above_the_warning_not_at_it() -> None:
    assert evaluate("prod", 7, [healthy(avg_divergence=0.20)], [], T, run_days=7).decision is Decision.PROCEED
    review = evaluate("prod", 7, [healthy(avg_divergence=0.22)], [], T, run_days=7)
    assert review.reasons == ("[MONITOR] divergence: AAPL 1D average divergence 22.0% is above the daily warning 20.0%",)


def test_a_systemic_data_outage_at_exactly_the_minimum_count_rolls_back() -> None:
    # 3 of 10 symbols refused: 30% is above 25%, and 3 is the minimum count itself.
    check = check_data_incidents([], (RunShare("r9", 10, ("A", "B", "C")),), T)
    assert check.status is Decision.ROLLBACK
    assert check.findings == ("run r9: 3 of 10 symbols (30.0%) refused as data incidents, more than 25.0%: "
                              "a systemic data outage (A, B, C)",)


def test_data_incidents_below_the_systemic_share_decide_nothing() -> None:
    data = [Incident("data", "NFLX", "1D", "stale in 3 run(s)"), Incident("quarantined", "X", "", "since ...")]
    quiet = (RunShare("r1", 12, ("NFLX", "META", "X1")), RunShare("r2", 2, ("NFLX",)))  # 25%: not above; 1 < 3
    review = evaluate("prod", 7, [healthy()], data, T, run_days=7, runs=quiet)
    assert review.decision is Decision.PROCEED
    [check] = [c for c in review.checks if c.name == "data_incidents"]
    assert "1 data incident(s) on 1 symbol(s), 1 quarantined; at most 50.0% of a run's symbols" in check.summary


def test_docs_rollout_lists_each_phases_criteria() -> None:
    assert criteria_markdown() in (ROOT / "docs" / "rollout.md").read_text()


def test_the_tables_guard_refuses_a_repeated_name_and_an_unknown_threshold() -> None:
    _check_table(TRIGGERS)  # the table as it is passes (thresholds None and known alike)
    twice = Trigger("storm", "alert_storms", Verdict.ROLLBACK, "x")
    with pytest.raises(ImportError, match="^jobs.contract.triggers: trigger names must be unique$"):
        _check_table((twice, twice))
    typo = Trigger("late", "duration", Verdict.MONITOR, "{value}", threshold="divergence_rollbak")
    with pytest.raises(ImportError, match="^jobs.contract.triggers: late names unknown threshold divergence_rollbak$"):
        _check_table((*TRIGGERS, typo))
    nowhere = Trigger("idle", "duration", Verdict.MONITOR, "x", phases=())
    with pytest.raises(ImportError, match=r"^jobs.contract.triggers: idle names unknown phases \(\)$"):
        _check_table((*TRIGGERS, nowhere))
    staging = Trigger("stage", "duration", Verdict.MONITOR, "x", phases=("canary", "staging"))
    with pytest.raises(ImportError, match=r"^jobs.contract.triggers: stage names unknown phases \('canary', 'staging'\)$"):
        _check_table((*TRIGGERS, staging))


def test_for_phase_refuses_an_unknown_phase_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="^phase 'staging' is invalid: expected one of local, canary, limited, prod$"):
        for_phase("staging")


def test_alarm_keys_are_the_tables_alarms_of_one_verdict_and_scope_in_table_order() -> None:
    assert alarm_keys(Verdict.ROLLBACK, stack_wide=False) == (
        "rollback-divergence", "rollback-rmse", "pipeline-failures", "forecasts-missing",
        "data-incidents-systemic")
    assert alarm_keys(Verdict.ROLLBACK, stack_wide=True) == ("alert-storm",)
    assert alarm_keys(Verdict.MONITOR, stack_wide=False) == (
        "rmse-vs-baseline", "model-errors", "coverage-low", "coverage-high")
    assert alarm_keys(Verdict.MONITOR, stack_wide=True) == ()


def test_by_check_narrows_to_a_phases_triggers_and_applies_refuses_an_unknown_name() -> None:
    assert [t.name for t in by_check("divergence", "limited")] == ["divergence-symbol-share", "divergence-rollback"]
    assert [t.name for t in by_check("divergence", "prod")] == ["divergence-warning", "divergence-rollback"]
    with pytest.raises(KeyError, match="^\"no trigger named 'nope' in jobs.contract.triggers.TRIGGERS\"$"):
        applies("nope", "canary")
