"""The rollout decision: thresholds, per symbol-horizon figures, and the checks that decide.

Pure functions only: ``jobs.rollout.data`` reads the figures from the database and
``jobs.rollout_review`` prints and renders the result. The defaults are the rollout
document's ("End of Canary Review" and "Canary Rollback Plan").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from jobs.contract.phases import DEPLOYED_PHASES, minimum_days
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import Verdict, applies, verdict_of


class Decision(str, Enum):
    """The review's outcome, from best to worst; the exit status goes with it."""

    PROCEED = "PROCEED"
    MONITOR = "MONITOR"
    ROLLBACK = "ROLLBACK"

    @property
    def exit_code(self) -> int:
        """0 proceed, 3 monitor (extend by 3 days), 4 roll back."""
        return {"PROCEED": 0, "MONITOR": 3, "ROLLBACK": 4}[self.value]

    @property
    def rank(self) -> int:
        """Severity order, so the worst finding decides."""
        return {"PROCEED": 0, "MONITOR": 1, "ROLLBACK": 2}[self.value]




@dataclass(frozen=True)
class SymbolHorizonStats:
    """One symbol-horizon's figures over the review window (production ensemble rows only).

    ``rmse_change`` is the ensemble's mean test RMSE over the paired baseline's, minus one
    (positive = worse), or ``None`` when no window has a paired baseline row.
    ``logged_share`` is the share of (run, symbol, horizon) keys with both a forecast and
    metrics rows, or ``None`` when the symbol-horizon has neither.
    """

    symbol: str
    horizon: str
    windows: int = 0
    runs: int = 0
    avg_divergence: float | None = None
    max_divergence: float | None = None
    overfitting_windows: int = 0
    model_errors: int = 0
    paired_windows: int = 0
    rmse_change: float | None = None
    forecasts: int = 0
    failures: int = 0
    missing: int = 0
    inconsistent: int = 0
    logged_share: float | None = None
    avg_coverage: float | None = None
    coverage_windows: int = 0
    data_incidents: int = 0

    @property
    def overfitting_share(self) -> float | None:
        """Share of windows flagged as overfitting, or None without windows."""
        return self.overfitting_windows / self.windows if self.windows else None

    @property
    def generated_share(self) -> float | None:
        """Forecasts written over forecasts expected (written, failed, refused or missing), or None when none expected."""
        expected = self.forecasts + self.failures + self.data_incidents + self.missing
        return self.forecasts / expected if expected else None

    @property
    def label(self) -> str:
        """``SYMBOL horizon``, as reasons and charts name it."""
        return f"{self.symbol} {self.horizon}"


@dataclass(frozen=True)
class Incident:
    """One row-level finding: a failure, a missing or inconsistent forecast, a logging gap, an alert storm."""

    kind: str
    symbol: str
    horizon: str
    detail: str


@dataclass(frozen=True)
class RunShare:
    """One run's data incidents: the symbols whose input it refused, of the symbols it ran.

    Quarantined symbols are left out of both: they are known, and cost no task.
    """

    run_id: str
    symbols: int
    refused: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        """Refused symbols over the run's symbols (0 for a run of none)."""
        return len(self.refused) / self.symbols if self.symbols else 0.0


@dataclass(frozen=True)
class Check:
    """One criterion's verdict; ``findings`` name every symbol-horizon or row behind it."""

    name: str
    status: Decision
    summary: str
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    """The decision, every check behind it, and the figures it was made on."""

    phase: str
    days: int
    decision: Decision
    checks: tuple[Check, ...]
    stats: tuple[SymbolHorizonStats, ...]
    incidents: tuple[Incident, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason behind the decision: failing checks' findings, or each passed check."""
        failing = [c for c in self.checks if c.status is not Decision.PROCEED]
        if not failing:
            return tuple(f"[PROCEED] {c.name}: {c.summary}" for c in self.checks)
        out: list[str] = []
        for c in sorted(failing, key=lambda c: -c.status.rank):
            out.extend(f"[{c.status.value}] {c.name}: {f}" for f in (c.findings or (c.summary,)))
        return tuple(out)


def storm_period(t: Thresholds) -> str:
    """The alert-storm period in words: ``an hour`` (the rollout document's), else ``N minutes``."""
    return "an hour" if t.alert_storm_period_seconds == 3_600 else f"{t.alert_storm_period_minutes} minutes"


def pct(x: float | None) -> str:
    """A fraction as a percentage with one decimal (``n/a`` for None)."""
    return "n/a" if x is None else f"{100.0 * x:.1f}%"


def _check(name: str, rollback: Sequence[str], monitor: Sequence[str], ok: str) -> Check:
    """A check's verdict; each level it reaches must be a trigger of ``name`` in the triggers table."""
    if rollback:
        verdict_of(name, Verdict.ROLLBACK)
        return Check(name, Decision.ROLLBACK, f"{len(rollback)} rollback finding(s)", (*rollback, *monitor))
    if monitor:
        verdict_of(name, Verdict.MONITOR)
        return Check(name, Decision.MONITOR, f"{len(monitor)} borderline finding(s)", tuple(monitor))
    return Check(name, Decision.PROCEED, ok)


def _fired(name: str, findings: Sequence[str], ok: str) -> Check:
    """A check with one trigger: its findings take that trigger's verdict from the table."""
    if verdict_of(name) is Verdict.ROLLBACK:
        return _check(name, findings, [], ok)
    return _check(name, [], findings, ok)


def check_divergence(stats: Sequence[SymbolHorizonStats], t: Thresholds, phase: str = "canary") -> Check:
    """Average divergence per symbol-horizon: above rollback rolls back in every phase; the phase's own
    criterion monitors (canary: not below proceed; limited: a share of symbols below the warning
    threshold; prod: above the daily warning)."""
    rollback, monitor = [], []
    for s in stats:
        if s.avg_divergence is None:
            continue
        text = f"{s.label} average divergence {pct(s.avg_divergence)}"
        if s.avg_divergence > t.divergence_rollback:
            rollback.append(f"{text} > {pct(t.divergence_rollback)} (rollback trigger)")
        elif applies("divergence-high", phase) and s.avg_divergence >= t.divergence_proceed:
            monitor.append(f"{text} is not below {pct(t.divergence_proceed)}")
        elif applies("divergence-warning", phase) and s.avg_divergence > t.divergence_warning:
            monitor.append(f"{text} is above the daily warning {pct(t.divergence_warning)}")
    if applies("divergence-symbol-share", phase):
        monitor += _symbol_share(stats, t)
    worst = max((s.avg_divergence for s in stats if s.avg_divergence is not None), default=None)
    return _check("divergence", rollback, monitor, f"{_divergence_rule(phase, t)} (highest {pct(worst)})")


def _divergence_rule(phase: str, t: Thresholds) -> str:
    if applies("divergence-symbol-share", phase):
        return f"at least {pct(t.limited_symbol_share)} of symbols average below {pct(t.divergence_warning)}"
    if applies("divergence-warning", phase):
        return f"no symbol-horizon averages above {pct(t.divergence_warning)}"
    return f"every symbol-horizon averages below {pct(t.divergence_proceed)}"


@dataclass(frozen=True)
class SymbolShare:
    """Limited's "divergence < 20% for 95% of symbols" over per symbol-horizon averages.

    A symbol passes when each of its horizons averages below the warning threshold; ``above``
    names the others. The review and the daily checks both judge it here.
    """

    symbols: int
    above: tuple[str, ...]
    required: float

    @property
    def share(self) -> float:
        """Passing symbols over symbols (1 for none: nothing to judge)."""
        return 1 - len(self.above) / self.symbols if self.symbols else 1.0

    @property
    def met(self) -> bool:
        """Whether at least the required share passes (exactly the share passes too)."""
        return self.share >= self.required


def symbol_share(averages: Iterable[tuple[str, float | None]], t: Thresholds) -> SymbolShare:
    """Judge limited's share criterion over ``(symbol, average divergence)`` pairs, one per symbol-horizon."""
    worst: dict[str, float] = {}
    for symbol, avg in averages:
        if avg is not None:
            worst[symbol] = max(worst.get(symbol, avg), avg)
    above = tuple(sorted(sym for sym, d in worst.items() if d >= t.divergence_warning))
    return SymbolShare(len(worst), above, t.limited_symbol_share)


def _symbol_share(stats: Sequence[SymbolHorizonStats], t: Thresholds) -> list[str]:
    """The review's finding of limited's share criterion, if it is not met."""
    judged = symbol_share(((s.symbol, s.avg_divergence) for s in stats), t)
    if judged.met:
        return []
    return [f"{pct(judged.share)} of {judged.symbols} symbols average below {pct(t.divergence_warning)}, fewer than "
            f"{pct(t.limited_symbol_share)}: {', '.join(judged.above)}"]


def check_overfitting(stats: Sequence[SymbolHorizonStats], t: Thresholds) -> Check:
    """Share of overfitting windows per symbol-horizon must stay below the threshold."""
    found = [f"{s.label} {s.overfitting_windows} of {s.windows} windows overfitting "
             f"({pct(s.overfitting_share)}), not below {pct(t.overfitting_share)}"
             for s in stats if s.overfitting_share is not None and s.overfitting_share >= t.overfitting_share]
    return _fired("overfitting", found, f"every symbol-horizon below {pct(t.overfitting_share)} of windows")


def check_rmse(stats: Sequence[SymbolHorizonStats], t: Thresholds, require_baseline: bool = True) -> Check:
    """Test RMSE against the paired baseline; an improvement of any size passes.

    Without paired baseline windows the check cannot pass when ``require_baseline`` (MONITOR).
    """
    rollback, monitor = [], []
    for s in stats:
        if not s.windows:
            continue
        if s.rmse_change is None:
            if require_baseline:
                monitor.append(f"{s.label} has no paired baseline windows: RMSE against baseline unknown")
            continue
        text = f"{s.label} test RMSE {s.rmse_change:+.1%} against the baseline ({s.paired_windows} paired windows)"
        if s.rmse_change > t.rmse_rollback:
            rollback.append(f"{text}, more than {pct(t.rmse_rollback)} worse (rollback trigger)")
        elif s.rmse_change > t.rmse_escalation:
            monitor.append(f"{text}, more than {pct(t.rmse_escalation)} worse")
    return _check("rmse_vs_baseline", rollback, monitor,
                  f"every symbol-horizon within {pct(t.rmse_escalation)} of the baseline or better")


def phase_coverage(stats: Sequence[SymbolHorizonStats]) -> tuple[float | None, int]:
    """The phase's interval coverage over every window that recorded one, and how many did."""
    n = sum(s.coverage_windows for s in stats if s.avg_coverage is not None)
    if not n:
        return None, 0
    return sum(s.avg_coverage * s.coverage_windows for s in stats if s.avg_coverage is not None) / n, n


def check_coverage(stats: Sequence[SymbolHorizonStats], t: Thresholds, phase: str = "canary") -> Check:
    """The 90% interval's test-slice coverage over the phase must lie in the review band (else MONITOR).

    The findings name the symbol-horizons outside the band, so a reviewer sees where it comes from.
    Limited also needs calibration for every symbol: one with windows but no coverage monitors.
    """
    unknown = [f"{s.label}: {s.windows} windows, no interval coverage recorded (calibration unavailable)"
               for s in stats if s.windows and s.avg_coverage is None]
    if unknown and applies("coverage-missing", phase):
        return _check("coverage", [], unknown, "")
    coverage, n = phase_coverage(stats)
    band = f"{pct(t.coverage_review_low)}-{pct(t.coverage_review_high)}"
    if coverage is None:
        if not any(s.windows for s in stats):
            return Check("coverage", Decision.PROCEED, "no windows to judge")
        return _check("coverage", [], ["no window recorded its interval coverage: calibration unknown"], "")
    if t.coverage_review_low <= coverage <= t.coverage_review_high:
        return Check("coverage", Decision.PROCEED, f"90% interval covers {pct(coverage)} of {n} windows' outcomes "
                                                   f"(within {band})")
    side = "too narrow" if coverage < t.coverage_review_low else "too wide"
    worst = [f"{s.label} coverage {pct(s.avg_coverage)} over {s.coverage_windows} windows" for s in stats
             if s.avg_coverage is not None
             and not t.coverage_review_low <= s.avg_coverage <= t.coverage_review_high]
    return _check("coverage", [], [f"phase coverage {pct(coverage)} over {n} windows is outside {band}: "
                                   f"intervals {side}", *worst], "")


def check_duration(phase: str, run_days: int | None) -> Check:
    """A phase cannot PROCEED before it has run on its minimum number of days (MONITOR until then).

    ``run_days`` counts the distinct days with rows of the phase's own (None: not measured).
    """
    need = minimum_days(phase) if phase in DEPLOYED_PHASES else 0
    if run_days is None or need == 0:
        return Check("duration", Decision.PROCEED, f"no minimum duration for {phase}" if need == 0
                     else "duration not measured")
    if run_days < need:
        return _fired("duration", [f"{phase} has run on {run_days} of its minimum {need} days"], "")
    return Check("duration", Decision.PROCEED, f"{phase} has run on {run_days} days (minimum {need})")


def check_model_errors(stats: Sequence[SymbolHorizonStats]) -> Check:
    """Models that failed inside a window (caught, the window went on without them)."""
    found = [f"{s.label} {s.model_errors} model error(s) in {s.windows} windows" for s in stats if s.model_errors]
    return _fired("model_errors", found, "no model errors")


def check_data_incidents(incidents: Sequence[Incident], runs: Sequence[RunShare], t: Thresholds) -> Check:
    """Data incidents are reported, not judged: ROLLBACK only when a run refused a systemic share of its symbols."""
    systemic = [r for r in runs if r.share > t.data_incident_share and len(r.refused) >= t.data_incident_min_symbols]
    found = [f"run {r.run_id}: {len(r.refused)} of {r.symbols} symbols ({pct(r.share)}) refused as data incidents, "
             f"more than {pct(t.data_incident_share)}: a systemic data outage ({', '.join(r.refused)})"
             for r in systemic]
    data = [i for i in incidents if i.kind == "data"]
    quarantined = {i.symbol for i in incidents if i.kind == "quarantined"}
    worst = max((r.share for r in runs), default=0.0)
    ok = (f"{len(data)} data incident(s) on {len({i.symbol for i in data})} symbol(s), {len(quarantined)} "
          f"quarantined; at most {pct(worst)} of a run's symbols refused (systemic above "
          f"{pct(t.data_incident_share)}): reported for the data team, not a rollback")
    return _fired("data_incidents", found, ok)


def check_incidents(name: str, incidents: Iterable[Incident], kinds: set[str], ok: str) -> Check:
    """A trigger made of row-level incidents of the given kinds: any one fires it (verdict from the table)."""
    found = [f"{i.symbol} {i.horizon}: {i.detail}".strip() for i in incidents if i.kind in kinds]
    return _fired(name, found, ok)


def evaluate(phase: str, days: int, stats: Sequence[SymbolHorizonStats], incidents: Sequence[Incident],
             thresholds: Thresholds, require_baseline: bool = True, run_days: int | None = None,
             runs: Sequence[RunShare] = ()) -> Review:
    """Apply every check and take the worst verdict.

    Args:
        phase: the reviewed rollout phase.
        days: the review window in days.
        stats: per symbol-horizon figures (``jobs.rollout.data``).
        incidents: row-level findings: kinds ``failure`` (a pipeline failure), ``data`` (a data
            incident), ``quarantined``, ``event`` (a real move kept), ``missing``, ``inconsistent``,
            ``logging``, ``alert_storm``.
        thresholds: the decision thresholds.
        require_baseline: without paired baseline windows the RMSE check cannot pass.
        run_days: days with rows of the phase's own, for its minimum duration (None: not checked).
        runs: each run's data incidents (the systemic share).

    Returns:
        The review; with no ensemble windows at all the decision is MONITOR (nothing to judge).
    """
    if not any(s.windows for s in stats) and not incidents:
        check = Check("data", Decision(verdict_of("data").value),
                      f"no runs of phase {phase} in the last {days} day(s): nothing to review yet")
        return Review(phase, days, Decision.MONITOR, (check,), tuple(stats), ())
    checks = (
        check_duration(phase, run_days),
        check_divergence(stats, thresholds, phase),
        check_rmse(stats, thresholds, require_baseline),
        check_overfitting(stats, thresholds),
        check_coverage(stats, thresholds, phase),
        check_model_errors(stats),
        check_incidents("uncaught_errors", incidents, {"failure"}, "no symbol failed in code in any run"),
        check_data_incidents(incidents, runs, thresholds),
        check_incidents("missing_forecasts", incidents, {"missing"}, "every symbol has a forecast on every run day"),
        check_incidents("inconsistent_forecasts", incidents, {"inconsistent"}, "every forecast row is consistent"),
        check_incidents("logging", incidents, {"logging"}, "100% of forecasts and windows logged"),
        check_incidents("alert_storms", incidents, {"alert_storm"},
                        f"never more than {thresholds.alert_storm_count} critical alerts in {storm_period(thresholds)}"),
    )
    decision = max((c.status for c in checks), key=lambda d: d.rank)
    return Review(phase, days, decision, checks, tuple(stats), tuple(incidents))
