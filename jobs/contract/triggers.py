"""The one table of rollout triggers (docs/design.md §3.5): what rolls back, what extends a phase, and which alarm watches it.

The review (``jobs.rollout.checks``) takes each check's verdict from this table, the daily
checks mark their rows with it, the stacks' rollback composite alarm is made of exactly the
alarms of the ROLLBACK triggers (``infra.monitoring.alarms``), and docs/rollout.md's trigger table is
``markdown_table()``'s output (a test compares them). To add a trigger, add one ``Trigger``
to ``TRIGGERS``: the composite, the docs test and the review's consistency guard follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from jobs.contract.phases import ROLLOUT_PHASES
from jobs.contract.thresholds import ENV_VARS, Thresholds


class Verdict(str, Enum):
    """What a fired trigger decides (a phase with none fired PROCEEDs)."""

    MONITOR = "MONITOR"
    ROLLBACK = "ROLLBACK"


@dataclass(frozen=True)
class Trigger:
    """One rollout trigger.

    Attributes:
        name: unique name (kebab-case), as reasons and docs cite it.
        check: the review check that evaluates it (``jobs.rollout.checks``); several
            triggers of one check are its MONITOR and ROLLBACK levels.
        verdict: what it decides when it fires.
        when: the condition, in words, with ``{value}`` for the threshold.
        threshold: the ``Thresholds`` field it compares against, or None (any occurrence).
        alarm: the CloudWatch alarm key (``infra.monitoring.alarms``, per horizon unless ``stack_wide``)
            that implements it on the stack, or None when only the review can see it.
        stack_wide: the alarm is one per stack, not one per horizon.
        phases: the phases whose review applies it (each phase's success criteria from the
            rollout document; ``local`` reviews as canary does).
    """

    name: str
    check: str
    verdict: Verdict
    when: str
    threshold: str | None = None
    alarm: str | None = None
    stack_wide: bool = False
    phases: tuple[str, ...] = ROLLOUT_PHASES

    def describe(self, t: Thresholds) -> str:
        """The condition with this stack's threshold filled in."""
        if self.threshold is None:
            return self.when
        value = getattr(t, self.threshold)
        shown = str(value) if isinstance(value, int) and not isinstance(value, bool) else f"{100 * value:g}%"
        return self.when.format(value=shown)


# Phase sets of the criteria that differ by phase (rollout document: "End of Canary Review",
# "Limited Rollout Success Criteria", "Production Monitoring ... Daily Tasks").
CANARY = ("local", "canary")
LIMITED = ("limited",)
PROD = ("prod",)

TRIGGERS: tuple[Trigger, ...] = (
    Trigger("no-runs", "data", Verdict.MONITOR, "no runs of the phase in the review window (nothing to judge)"),
    # docs/design.md §3.5 / the document's "7 days minimum": fewer run days than the phase's minimum.
    Trigger("phase-too-young", "duration", Verdict.MONITOR,
            "the phase has run on fewer days than its minimum (jobs.contract.phases.MINIMUM_DAYS)"),
    # Canary: "PROCEED: average divergence < 15%".
    Trigger("divergence-high", "divergence", Verdict.MONITOR,
            "a symbol-horizon's average divergence is not below {value}", "divergence_proceed", phases=CANARY),
    # Limited: "Divergence < 20% for 95% of symbols" (20%: the warning threshold, DIVERGENCE_THRESHOLD).
    Trigger("divergence-symbol-share", "divergence", Verdict.MONITOR,
            "fewer than {value} of the phase's symbols average a divergence below the warning threshold "
            "(every horizon of a symbol)", "limited_symbol_share", phases=LIMITED),
    # Prod's daily rule: "Warning: divergence > 20% -> flagged for review".
    Trigger("divergence-warning", "divergence", Verdict.MONITOR,
            "a symbol-horizon's average divergence is above {value} (the daily warning)", "divergence_warning",
            phases=PROD),
    Trigger("divergence-rollback", "divergence", Verdict.ROLLBACK,
            "a symbol-horizon's average divergence above {value}", "divergence_rollback", "rollback-divergence"),
    Trigger("rmse-escalation", "rmse_vs_baseline", Verdict.MONITOR,
            "test RMSE more than {value} worse than the paired baseline", "rmse_escalation", "rmse-vs-baseline"),
    Trigger("rmse-no-baseline", "rmse_vs_baseline", Verdict.MONITOR,
            "no paired baseline windows (RMSE against the baseline unknown)"),
    Trigger("rmse-rollback", "rmse_vs_baseline", Verdict.ROLLBACK,
            "test RMSE more than {value} worse than the paired baseline", "rmse_rollback", "rollback-rmse"),
    Trigger("overfitting-share", "overfitting", Verdict.MONITOR,
            "{value} or more of a symbol-horizon's windows overfitting", "overfitting_share"),
    # A model error is caught: the window went on without that model, so it is watched, not rolled back.
    Trigger("model-errors", "model_errors", Verdict.MONITOR,
            "a model failed inside a window and was dropped (caught)", alarm="model-errors"),
    # The document's "any uncaught exceptions in forecast pipeline": a symbol's run failed in code.
    Trigger("uncaught-errors", "uncaught_errors", Verdict.ROLLBACK,
            "a symbol failed in code in a run (a pipeline failure in forecast_failures)", alarm="pipeline-failures"),
    Trigger("missing-forecasts", "missing_forecasts", Verdict.ROLLBACK,
            "a phase symbol has no forecast and no recorded reason on a day the phase ran", alarm="forecasts-missing"),
    # A data incident (input refused) is the data team's, reported but not a rollback, unless it is
    # systemic: a large share of a run's symbols refused at once (a vendor outage).
    Trigger("data-incidents-systemic", "data_incidents", Verdict.ROLLBACK,
            "a run's input refused for more than {value} of its symbols (and at least "
            "DATA_INCIDENT_ROLLBACK_MIN of them, quarantined symbols aside): a systemic data outage",
            "data_incident_share", alarm="data-incidents-systemic"),
    Trigger("inconsistent-forecasts", "inconsistent_forecasts", Verdict.ROLLBACK,
            "a forecast row is inconsistent (non-finite, outside its interval, wrong price, weights not summing to 1)"),
    Trigger("logging-gaps", "logging", Verdict.ROLLBACK, "a forecast without window rows or the reverse"),
    # Calibration: the review's band is narrower than the daily alarms' (80-98%): the alarm catches a
    # badly sized day, the review a phase whose intervals do not mean 90%.
    Trigger("coverage-low", "coverage", Verdict.MONITOR,
            "the phase's 90% interval covers less than {value} of outcomes", "coverage_review_low", "coverage-low"),
    Trigger("coverage-high", "coverage", Verdict.MONITOR,
            "the phase's 90% interval covers more than {value} of outcomes", "coverage_review_high", "coverage-high"),
    Trigger("coverage-unknown", "coverage", Verdict.MONITOR, "no window recorded its interval coverage"),
    # Limited: "Calibration metrics available for all symbols".
    Trigger("coverage-missing", "coverage", Verdict.MONITOR,
            "a symbol-horizon with windows recorded no interval coverage", phases=LIMITED),
    Trigger("alert-storm", "alert_storms", Verdict.ROLLBACK,
            "more than {value} critical alerts within the storm period", "alert_storm_count", "alert-storm",
            stack_wide=True),
)


def _check_table(triggers: tuple[Trigger, ...]) -> None:
    names = [t.name for t in triggers]
    if len(set(names)) != len(names):
        raise ImportError("jobs.contract.triggers: trigger names must be unique")
    for t in triggers:
        if t.threshold is not None and t.threshold not in ENV_VARS:
            raise ImportError(f"jobs.contract.triggers: {t.name} names unknown threshold {t.threshold}")
        if not t.phases or set(t.phases) - set(ROLLOUT_PHASES):
            raise ImportError(f"jobs.contract.triggers: {t.name} names unknown phases {t.phases}")


_check_table(TRIGGERS)


def by_check(check: str, phase: str | None = None) -> tuple[Trigger, ...]:
    """The triggers a review check evaluates, in ``phase`` when given (raises ``KeyError`` for a check
    the table does not know)."""
    found = tuple(t for t in TRIGGERS if t.check == check)
    if not found:
        raise KeyError(f"no trigger for check {check!r}: add it to jobs.contract.triggers.TRIGGERS")
    return found if phase is None else tuple(t for t in found if phase in t.phases)


def for_phase(phase: str) -> tuple[Trigger, ...]:
    """The triggers a review of ``phase`` applies: its success criteria and every phase's rollback rules."""
    if phase not in ROLLOUT_PHASES:
        raise ValueError(f"phase {phase!r} is invalid: expected one of {', '.join(ROLLOUT_PHASES)}")
    return tuple(t for t in TRIGGERS if phase in t.phases)


def applies(name: str, phase: str) -> bool:
    """Whether trigger ``name`` is one of ``phase``'s criteria (raises ``KeyError`` for an unknown name)."""
    for t in TRIGGERS:
        if t.name == name:
            return phase in t.phases
    raise KeyError(f"no trigger named {name!r} in jobs.contract.triggers.TRIGGERS")


def verdict_of(check: str, verdict: Verdict | None = None) -> Verdict:
    """The verdict of ``check`` (its only one, or ``verdict`` after checking the table declares it)."""
    kinds = {t.verdict for t in by_check(check)}
    if verdict is None:
        if len(kinds) != 1:
            raise ValueError(f"check {check!r} has triggers of several verdicts: name one of {sorted(kinds)}")
        return kinds.pop()
    if verdict not in kinds:
        raise ValueError(f"check {check!r} has no {verdict.value} trigger in jobs.contract.triggers.TRIGGERS")
    return verdict


def alarm_keys(verdict: Verdict, stack_wide: bool) -> tuple[str, ...]:
    """The alarm keys of the triggers with ``verdict`` (per-horizon or stack-wide ones), in table order."""
    return tuple(t.alarm for t in TRIGGERS if t.verdict is verdict and t.alarm and t.stack_wide is stack_wide)


def markdown_table(t: Thresholds | None = None) -> str:
    """docs/rollout.md's trigger table for thresholds ``t`` (the document's defaults)."""
    t = t or Thresholds()
    rows = ["| trigger | review check | decision | phases | fires when | CloudWatch alarm |",
            "|---|---|---|---|---|---|"]
    for trig in TRIGGERS:
        suffix = "" if trig.stack_wide else "-<horizon>"
        alarm = f"`{trig.alarm}{suffix}`" if trig.alarm else "none (review only)"
        phases = "all" if trig.phases == ROLLOUT_PHASES else ", ".join(p for p in trig.phases if p != "local")
        rows.append(f"| `{trig.name}` | `{trig.check}` | {trig.verdict.value} | {phases} | {trig.describe(t)} "
                    f"| {alarm} |")
    return "\n".join(rows) + "\n"


def criteria_markdown(t: Thresholds | None = None) -> str:
    """docs/rollout.md's per-phase criteria: what each deployed phase's review checks, from the table."""
    t = t or Thresholds()
    lines = []
    for phase in ("canary", "limited", "prod"):
        own = [trig for trig in for_phase(phase) if trig.phases != ROLLOUT_PHASES]
        shown = "; ".join(f"{trig.verdict.value} when {trig.describe(t)} (`{trig.name}`)" for trig in own)
        lines.append(f"- **{phase}**: {shown or 'no criteria of its own'}; and every rule marked *all* below.")
    return "\n".join(lines) + "\n"
