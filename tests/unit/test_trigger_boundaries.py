"""Every trigger of the table just below, at and just above its boundary, in the review and the daily checks.

The cases are generated from ``jobs.contract.triggers.TRIGGERS``: a trigger's threshold and the
side its words name (``tests.support.boundaries``) give the three points, a probe per trigger
sets that one figure on an otherwise healthy phase. A trigger without a probe fails
``test_every_trigger_has_a_boundary_probe``. The SQL's and the alarms' side of the same
boundaries are in tests/integration/test_boundaries.py and tests/infra/test_alarm_boundaries.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from jobs.contract.phases import MINIMUM_DAYS
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import TRIGGERS, Trigger
from jobs.forecasting.results import paired_rmse_gap
from jobs.forecasting.walkforward import divergence
from jobs.rollout.checks import Decision, Incident, RunShare, SymbolHorizonStats, evaluate
from jobs.rollout.daily import DAILY_PHASE, divergence_trigger
from tests.support.boundaries import COUNT_STEP, Rule, marks, reached, threshold_rule

T = Thresholds()
Figures = tuple[list[SymbolHorizonStats], list[Incident], int | None, list[RunShare]]
ANY = Rule(">", 0, COUNT_STEP)  # any occurrence fires: none does not, one does
MANY = 10**12  # windows, so that a share can sit one FRACTION_STEP from its threshold
# Symbols of a phase for the shares of symbols (a share steps by one symbol of them).
FLEET = 20


def healthy(symbol: str = "AAPL", **changes: object) -> SymbolHorizonStats:
    """A symbol-horizon that passes every check, with ``changes``."""
    base = {"windows": 10, "runs": 5, "avg_divergence": 0.05, "max_divergence": 0.08, "paired_windows": 10,
            "rmse_change": -0.01, "forecasts": 5, "logged_share": 1.0, "avg_coverage": 0.90, "coverage_windows": 10}
    return SymbolHorizonStats(symbol, "1D", **{**base, **changes})  # type: ignore[arg-type]


def figures(*stats: SymbolHorizonStats, incidents: tuple[Incident, ...] = (), run_days: int | None = None,
            runs: tuple[RunShare, ...] = ()) -> Figures:
    """The review's figures; ``run_days`` None: the reviewed phase's minimum (the duration passes)."""
    return list(stats), list(incidents), run_days, list(runs)


def below_warning(share: float) -> Figures:
    """``FLEET`` symbols of which ``share`` average below the warning divergence (the others just above it)."""
    passing = round(share * FLEET)
    return figures(*(healthy(f"S{i}", avg_divergence=0.05 if i < passing else T.divergence_warning + 0.01)
                     for i in range(FLEET)))


def refused(share: float) -> Figures:
    """One run of ``FLEET`` symbols that refused ``share`` of them as data incidents."""
    n = round(share * FLEET)
    return figures(healthy(), runs=(RunShare("r1", FLEET, tuple(f"S{i}" for i in range(n))),))


def occurrences(kind: str) -> Callable[[float], Figures]:
    return lambda n: figures(healthy(), incidents=tuple(Incident(kind, "AAPL", "1D", f"#{i}") for i in range(int(n))))


@dataclass(frozen=True)
class Probe:
    """Figures with the trigger's one figure at a value; ``rule`` for a trigger without a threshold."""

    make: Callable[[float], Figures]
    rule: Rule | None = None
    phase: str = "canary"  # the reviewed phase: a trigger of one phase's criteria is probed in it


PROBES: dict[str, Probe] = {
    "no-runs": Probe(lambda n: figures(healthy(windows=int(n))), Rule("<", 1, COUNT_STEP)),
    "phase-too-young": Probe(lambda n: figures(healthy(), run_days=int(n)),
                             Rule("<", MINIMUM_DAYS["canary"], COUNT_STEP)),
    "divergence-high": Probe(lambda v: figures(healthy(avg_divergence=v))),
    "divergence-symbol-share": Probe(below_warning, Rule("<", T.limited_symbol_share, 1 / FLEET), "limited"),
    "divergence-warning": Probe(lambda v: figures(healthy(avg_divergence=v)), phase="prod"),
    "divergence-rollback": Probe(lambda v: figures(healthy(avg_divergence=v))),
    "rmse-escalation": Probe(lambda v: figures(healthy(rmse_change=v))),
    "rmse-no-baseline": Probe(lambda n: figures(healthy(), *(healthy(f"N{i}", rmse_change=None, paired_windows=0)
                                                             for i in range(int(n)))), ANY),
    "rmse-rollback": Probe(lambda v: figures(healthy(rmse_change=v))),
    "overfitting-share": Probe(lambda v: figures(healthy(windows=MANY, overfitting_windows=round(v * MANY)))),
    "model-errors": Probe(lambda n: figures(healthy(model_errors=int(n))), ANY),
    "uncaught-errors": Probe(occurrences("failure"), ANY),
    "data-incidents-systemic": Probe(refused, Rule(">", T.data_incident_share, 1 / FLEET)),
    "missing-forecasts": Probe(occurrences("missing"), ANY),
    "inconsistent-forecasts": Probe(occurrences("inconsistent"), ANY),
    "logging-gaps": Probe(occurrences("logging"), ANY),
    "coverage-low": Probe(lambda v: figures(healthy(avg_coverage=v))),
    "coverage-high": Probe(lambda v: figures(healthy(avg_coverage=v))),
    "coverage-unknown": Probe(lambda n: figures(healthy(avg_coverage=0.9 if n else None, coverage_windows=int(n))),
                              Rule("<", 1, COUNT_STEP)),
    "coverage-missing": Probe(lambda n: figures(healthy(), *(healthy(f"C{i}", avg_coverage=None, coverage_windows=0)
                                                             for i in range(int(n)))), ANY, "limited"),
    # The review counts storms in SQL (n > alert_storm_count, tests/integration/test_boundaries.py);
    # its check fires on any storm the query found.
    "alert-storm": Probe(occurrences("alert_storm"), ANY),
}


def rule_of(trigger: Trigger) -> Rule:
    probe = PROBES[trigger.name]
    return probe.rule or threshold_rule(trigger, T)


CASES = [(t, point, value) for t in TRIGGERS if t.name in PROBES
         for point, value in rule_of(t).points().items() if value >= 0]


def case_id(case: tuple[Trigger, str, float]) -> str:
    return f"{case[0].name}-{case[1]}"


def test_every_trigger_has_a_boundary_probe() -> None:
    missing = sorted({t.name for t in TRIGGERS} - set(PROBES))
    assert not missing, f"triggers without a boundary probe in {__name__}.PROBES: {missing}"
    assert not set(PROBES) - {t.name for t in TRIGGERS}, "a probe for a trigger the table no longer has"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_review_check_at_the_boundary(case: tuple[Trigger, str, float]) -> None:
    trigger, point, value = case
    probe = PROBES[trigger.name]
    stats, incidents, run_days, runs = probe.make(value)
    days = MINIMUM_DAYS[probe.phase] if run_days is None else run_days
    review = evaluate(probe.phase, 7, stats, incidents, T, run_days=days, runs=runs)
    # The "data" check stands alone, only when there is nothing to review.
    status = {c.name: c.status for c in review.checks}.get(trigger.check, Decision.PROCEED)
    expected = rule_of(trigger).fires(value)
    assert reached(status, trigger.verdict) is expected, (
        f"{trigger.name} {point} ({value!r}): check {trigger.check} says {status.value}")
    assert review.decision is status  # nothing else fires: the decision is this check's


# The rollout document's words, pinned: "PROCEED: average divergence < 15%" and "overfitting < 10% of
# windows" (so 15% and 10% do not proceed); "> 25%", "> 5%", "> 10%" and the coverage band are strict.
AT_THRESHOLD = {"divergence-high": True, "divergence-rollback": False, "rmse-escalation": False,
                "rmse-rollback": False, "overfitting-share": True, "coverage-low": False, "coverage-high": False}


def test_the_words_put_each_threshold_on_the_documents_side() -> None:
    at = {t.name: rule_of(t).fires(rule_of(t).limit) for t in TRIGGERS if t.name in AT_THRESHOLD}
    assert at == AT_THRESHOLD


DAILY_CHECKS = ("divergence", "overfitting")  # the checks jobs.rollout.daily marks its rows with


def daily_row(trigger: Trigger, value: float) -> dict[str, float]:
    if trigger.check == "divergence":
        return {"avg_div": value, "windows": 5, "overfitting_count": 0}
    return {"avg_div": 0.05, "windows": MANY, "overfitting_count": round(value * MANY)}


DAILY_CASES = [c for c in CASES if c[0].check in DAILY_CHECKS and DAILY_PHASE in c[0].phases]


@pytest.mark.parametrize("case", DAILY_CASES, ids=case_id)
def test_daily_checks_mark_at_the_boundary(case: tuple[Trigger, str, float]) -> None:
    trigger, point, value = case
    marked = divergence_trigger(daily_row(trigger, value), T)
    assert marks(marked, trigger) is rule_of(trigger).fires(value), f"{trigger.name} {point} ({value!r}): {marked}"


def test_daily_checks_cover_every_trigger_of_their_checks() -> None:
    assert {t.name for t, _, _ in DAILY_CASES} == {t.name for t in TRIGGERS
                                                   if t.check in DAILY_CHECKS and DAILY_PHASE in t.phases}


@pytest.mark.parametrize(("refused_symbols", "fires"), [(T.data_incident_min_symbols - 1, False),
                                                         (T.data_incident_min_symbols, True)])
def test_a_systemic_outage_needs_its_minimum_of_symbols(refused_symbols: int, fires: bool) -> None:
    """Every symbol of a small run refused: systemic only from DATA_INCIDENT_ROLLBACK_MIN symbols."""
    run = RunShare("small", refused_symbols, tuple(f"S{i}" for i in range(refused_symbols)))
    review = evaluate("prod", 7, [healthy()], [], T, run_days=0, runs=[run])
    assert (review.decision is Decision.ROLLBACK) is fires, review.reasons


@pytest.mark.parametrize("phase", sorted(MINIMUM_DAYS))
def test_no_phase_proceeds_before_its_minimum_days(phase: str) -> None:
    need = MINIMUM_DAYS[phase]
    for days in (need - 1, need, need + 1):
        if days < 0:
            continue
        review = evaluate(phase, 7, [healthy()], [], T, run_days=days)
        (duration,) = [c for c in review.checks if c.name == "duration"]
        expected = Decision.MONITOR if days < need else Decision.PROCEED
        assert (duration.status, review.decision) == (expected, expected), f"{phase} after {days} of {need} days"


@pytest.mark.parametrize(("worse", "fired"), [(0.05, set()), (0.10, {"rmse-escalation"})])
@pytest.mark.parametrize("baseline", [0.01, 0.03, 1.0, 20.0])
def test_an_rmse_exactly_at_a_threshold_is_not_above_it(baseline: float, worse: float, fired: set[str]) -> None:
    """"More than 5% (10%) worse": exactly 5% (10%) worse, at any scale of RMSE, is not more (as divergence)."""
    gap = paired_rmse_gap({0: baseline * (1 + worse)}, {0: baseline})
    assert gap == worse, f"{baseline}: {gap!r}"
    check = evaluate("canary", 7, [healthy(rmse_change=gap)], [], T, run_days=7).checks[2]
    assert check.name == "rmse_vs_baseline"
    assert {t.name for t in TRIGGERS if t.check == check.name and t.threshold
            and reached(check.status, t.verdict)} == fired


@pytest.mark.parametrize("worse", [0.15, 0.20, 0.25, 0.30])
def test_a_divergence_exactly_at_a_threshold_is_the_threshold(worse: float) -> None:
    # Skill exactly ``worse`` poorer on test than on validation, at scales where ratio - 1 is inexact.
    for scale in (0.01, 0.03, 1.0, 20.0):
        assert divergence(scale, scale * (1 + worse), 1.0, 1.0) == worse, scale
