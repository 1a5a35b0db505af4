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
    """

    name: str
    check: str
    verdict: Verdict
    when: str
    threshold: str | None = None
    alarm: str | None = None
    stack_wide: bool = False

    def describe(self, t: Thresholds) -> str:
        """The condition with this stack's threshold filled in."""
        if self.threshold is None:
            return self.when
        value = getattr(t, self.threshold)
        shown = str(value) if isinstance(value, int) and not isinstance(value, bool) else f"{100 * value:g}%"
        return self.when.format(value=shown)


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("no-runs", "data", Verdict.MONITOR, "no runs of the phase in the review window (nothing to judge)"),
    # docs/design.md §3.5 / the document's "7 days minimum": fewer run days than the phase's minimum.
    Trigger("phase-too-young", "duration", Verdict.MONITOR,
            "the phase has run on fewer days than its minimum (jobs.contract.phases.MINIMUM_DAYS)"),
    Trigger("divergence-high", "divergence", Verdict.MONITOR,
            "a symbol-horizon's average divergence is not below {value}", "divergence_proceed"),
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
    # The document's "any uncaught exceptions in forecast pipeline": a symbol's run failed.
    Trigger("uncaught-errors", "uncaught_errors", Verdict.ROLLBACK,
            "a symbol failed in a run (forecast_failures)", alarm="forecasts-failed"),
    Trigger("missing-forecasts", "missing_forecasts", Verdict.ROLLBACK,
            "a phase symbol has no forecast on a day the phase ran", alarm="forecasts-missing"),
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


_check_table(TRIGGERS)


def by_check(check: str) -> tuple[Trigger, ...]:
    """The triggers a review check evaluates (raises ``KeyError`` for a check the table does not know)."""
    found = tuple(t for t in TRIGGERS if t.check == check)
    if not found:
        raise KeyError(f"no trigger for check {check!r}: add it to jobs.contract.triggers.TRIGGERS")
    return found


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
    rows = ["| trigger | review check | decision | fires when | CloudWatch alarm |", "|---|---|---|---|---|"]
    for trig in TRIGGERS:
        suffix = "" if trig.stack_wide else "-<horizon>"
        alarm = f"`{trig.alarm}{suffix}`" if trig.alarm else "none (review only)"
        rows.append(f"| `{trig.name}` | `{trig.check}` | {trig.verdict.value} | {trig.describe(t)} | {alarm} |")
    return "\n".join(rows) + "\n"
