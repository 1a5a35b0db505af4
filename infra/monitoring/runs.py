"""Missed and partial runs: what a horizon's schedules and runs asked for, against what they wrote.

CloudWatch cannot know weekends or holidays, so these alarms never guess when a run is due. A
run is due exactly when the horizon's schedule fired (EventBridge's own ``TriggeredRules`` of
each job group's rule, times the tasks one firing asks for) or when a run declared its tasks
(the job's ``ForecastsExpected``, published once per task at a run's first attempt). Every due
task must end as ``ForecastsWritten`` or ``ForecastsFailed`` within the run's grace (every
attempt up to its timeout, plus queueing). Per horizon:

- ``forecasts-owed-<h>`` (metric math, period ``L``): what was due minus what was done over the
  last ``L``; it breaches while any run in the window is short, including every run still
  in progress, so it has no action of its own;
- ``run-in-progress-<h>`` (metric math, period = the grace): a firing or a run start within the
  grace, i.e. a run that may still legitimately be writing;
- ``runs-judged-<h>`` (metric math, period = the grace plus the hold): a firing recent enough that
  the owed window still holds its whole burst of runs (later, the window's start cuts through
  the burst, and the first run's late writes would hide, then show again, a short later run);
- ``forecasts-missing-<h>`` (composite): owed, judged and not in progress. It is in ALARM from
  the grace's end after the burst holding a short run, for at least ``MIN_HOLD_SECONDS``, once,
  and is the rollback trigger. The periods come from
  ``infra.batch.schedules.missed_run_window``.

So a weekend or a holiday on which the schedule does not fire owes nothing; a holiday on which
it fires is a normal run. A run that never started, a shard (array child) that never started,
and a run that wrote fewer forecasts than it declared all alarm once the grace has passed. The
metric math uses FILL(..., 0) on every input, so no period is ever "missing" and CloudWatch's
evaluation range and missing-data rules never decide the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infra import names
from infra.monitoring.alarms import check_evaluation_window
from infra.monitoring.args import MonitoringArgs
from jobs.contract import metrics

EVENTS_NAMESPACE = "AWS/Events"
TRIGGERED_RULES = "TriggeredRules"
OWED = "forecasts-owed"
IN_PROGRESS = "run-in-progress"
JUDGED = "runs-judged"
MISSING = "forecasts-missing"


@dataclass(frozen=True)
class MetricQuery:
    """One metric a math alarm reads (``MetricStat``), under an expression id."""

    id: str
    namespace: str
    metric: str
    dimensions: Mapping[str, str]
    stat: str = "Sum"


@dataclass(frozen=True)
class MathAlarmSpec:
    """A metric-math alarm as data: its inputs, its expressions (the last one is the alarm's) and threshold."""

    key: str
    queries: tuple[MetricQuery, ...]
    expressions: tuple[tuple[str, str], ...]
    comparison: str
    threshold: float
    period: int
    description: str
    treat_missing_data: str = "notBreaching"
    evaluation_periods: int = 1


def _inputs(args: MonitoringArgs, horizon: str) -> tuple[tuple[MetricQuery, ...], str, str, str]:
    """The horizon's metrics, and the "due", "started" and "fired" expressions."""
    fired = tuple(MetricQuery(f"fired{i}", EVENTS_NAMESPACE, TRIGGERED_RULES, {"RuleName": rule})
                  for i, (rule, _) in enumerate(args.expected_tasks[horizon]))
    dims = {metrics.DIM_STACK: args.stack, metrics.DIM_HORIZON: horizon}
    job = (MetricQuery("expected", metrics.NAMESPACE, metrics.FORECASTS_EXPECTED, dims),
           MetricQuery("written", metrics.NAMESPACE, metrics.FORECASTS_WRITTEN, dims),
           MetricQuery("failed", metrics.NAMESPACE, metrics.FORECASTS_FAILED, dims))
    due = " + ".join(f"{tasks} * FILL({q.id}, 0)" for q, (_, tasks) in zip(fired, args.expected_tasks[horizon]))
    fired_sum = " + ".join(f"FILL({q.id}, 0)" for q in fired)
    return fired + job, due, f"{fired_sum} + FILL(expected, 0)", fired_sum


def run_alarm_specs(args: MonitoringArgs, horizon: str) -> list[MathAlarmSpec]:
    """The horizon's "forecasts owed", "run in progress" and "runs judged" alarms."""
    queries, due, started, fired = _inputs(args, horizon)
    window, grace = args.run_windows[horizon], args.grace_seconds
    owed = MathAlarmSpec(
        f"{OWED}-{horizon}", queries,
        (("due", due), ("owed", "MAX([FILL(expected, 0), due]) - FILL(written, 0) - FILL(failed, 0)")),
        "GreaterThanThreshold", 0.0, window.owed_seconds,
        f"{args.stack} {horizon}: symbol-horizons due in the last {window.owed_seconds / 3_600:g}h (schedule "
        "firings x tasks, or declared by a run) not yet written or failed; in ALARM while a run is in progress "
        f"too, so no action: {MISSING}-{horizon} is the alarm")
    schedules = tuple(q for q in queries if q.id.startswith("fired"))
    progress = MathAlarmSpec(
        f"{IN_PROGRESS}-{horizon}", tuple(q for q in queries if q in schedules or q.id == "expected"),
        (("started", started),),
        "GreaterThanThreshold", 0.0, grace,
        f"{args.stack} {horizon}: a schedule fired or a run started within the last {grace / 3_600:g}h "
        "(retries x timeout + queueing): its forecasts may still come")
    judged = MathAlarmSpec(
        f"{JUDGED}-{horizon}", schedules, (("fired", fired),), "GreaterThanThreshold", 0.0, window.judged_seconds,
        f"{args.stack} {horizon}: a schedule fired within the last {window.judged_seconds / 3_600:g}h, so the "
        f"{OWED} window holds its whole burst of runs")
    return [owed, progress, judged]


def all_run_alarm_specs(args: MonitoringArgs) -> list[MathAlarmSpec]:
    """Every horizon's missed-run alarms, validated against CloudWatch's evaluation limits."""
    specs = [s for h in args.horizons for s in run_alarm_specs(args, h)]
    for s in specs:
        check_evaluation_window(s.key, s.period, s.evaluation_periods)
    return specs


def missing_rule(args: MonitoringArgs, horizon: str) -> str:
    """The composite rule of ``forecasts-missing-<horizon>``: owed, judged, and no run of it in progress."""
    owed, judged, progress = (names.resource_name(args.stack, k, horizon) for k in (OWED, JUDGED, IN_PROGRESS))
    return f'ALARM("{owed}") AND ALARM("{judged}") AND NOT ALARM("{progress}")'
