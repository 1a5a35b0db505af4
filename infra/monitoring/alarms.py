"""Alarm definitions as plain data: the stack's metric alarms and its composite alarm rules.

Every alarm is built from the metric contract in ``jobs.contract.metrics`` (namespace, names,
dimension sets), so the stack watches exactly what the job publishes. The rollback composite is
made of exactly the alarms of the ROLLBACK triggers in ``jobs.contract.triggers``. The specs are
data (``alarm_specs``) so tests can evaluate them against published datapoints;
``infra.monitoring.component.Monitoring`` turns them into resources. Missed and partial runs
have their own metric-math alarms (``infra.monitoring.runs``).

None of these alarms can fire before a horizon's first run: each treats missing data as not
breaching, and the missed-run alarm owes nothing before a schedule fired. So no grace hides
anything: a failure or a storm on one horizon pages at once, whatever the others do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infra import names
from infra.monitoring.args import MonitoringArgs
from jobs.contract import metrics
from jobs.contract.triggers import Verdict, alarm_keys

REVIEW = "review"
IMMEDIATE = "immediate"
GREATER = "GreaterThanThreshold"
LESS = "LessThanThreshold"
NOT_BREACHING = "notBreaching"

# PutMetricAlarm limits (CloudWatch API reference): period*evaluation_periods is at most
# 7 days, and at most 1 day when the period is shorter than an hour.
MAX_EVALUATION_SECONDS = 7 * 86_400
MAX_SHORT_PERIOD_EVALUATION_SECONDS = 86_400
# One hour holds one scheduled run's datapoints; the alarm returns to OK the next hour.
RUN_PERIOD_SECONDS = 3_600


@dataclass(frozen=True)
class AlarmSpec:
    """One metric alarm as data: what it watches, when it fires and whom it tells."""

    key: str
    metric: str
    dimensions: Mapping[str, str]
    statistic: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    treat_missing_data: str
    topic: str | None
    description: str
    namespace: str = metrics.NAMESPACE

    def breaches(self, value: float) -> bool:
        """Whether one period's statistic ``value`` is on the alarming side of the threshold."""
        return value > self.threshold if self.comparison == GREATER else value < self.threshold


def check_evaluation_window(name: str, period: int, evaluation_periods: int) -> None:
    """Raise ``ValueError`` when CloudWatch would refuse the alarm's period and evaluation periods."""
    if period < 60 or period % 60:
        raise ValueError(f"alarm {name}: period={period} is invalid: expected a multiple of 60 seconds")
    total = period * evaluation_periods
    limit = MAX_SHORT_PERIOD_EVALUATION_SECONDS if period < 3_600 else MAX_EVALUATION_SECONDS
    if evaluation_periods < 1 or total > limit:
        raise ValueError(f"alarm {name}: period {period}s x {evaluation_periods} evaluation periods = {total}s "
                         f"is invalid: CloudWatch allows at most {limit}s for this period")


def horizon_alarm_specs(args: MonitoringArgs, horizon: str) -> list[AlarmSpec]:
    """The alarms on one horizon's aggregate (all symbols of the stack)."""
    dims = {metrics.DIM_STACK: args.stack, metrics.DIM_HORIZON: horizon}

    def spec(key: str, metric: str, stat: str, threshold: float, topic: str | None, desc: str, *,
             comparison: str = GREATER, period: int = RUN_PERIOD_SECONDS, missing: str = NOT_BREACHING) -> AlarmSpec:
        return AlarmSpec(f"{key}-{horizon}", metric, dims, stat, comparison, threshold, period, 1, missing,
                         topic, f"{args.stack} {horizon}: {desc}")

    return [
        spec("divergence-warning", metrics.DIVERGENCE, "Maximum", args.thresholds.divergence_warning, REVIEW,
             f"a window's divergence above {args.thresholds.divergence_warning:.0%}: review"),
        spec("divergence-critical", metrics.DIVERGENCE, "Maximum", args.thresholds.divergence_critical, IMMEDIATE,
             f"a window's divergence above {args.thresholds.divergence_critical:.0%}"),
        # Rollout document: "Max RMSE increase > 5% vs baseline -> escalate": the worst symbol, not the mean.
        spec("rmse-vs-baseline", metrics.RMSE_VS_BASELINE, "Maximum", args.thresholds.rmse_escalation, IMMEDIATE,
             f"a symbol's RMSE more than {args.thresholds.rmse_escalation:.0%} worse than the paired baseline: escalate"),
        # Caught (the window went on without the model): a MONITOR trigger, so the review topic.
        spec("model-errors", metrics.MODEL_ERRORS, "Sum", 0.0, REVIEW, "a model failed inside the ensemble"),
        # A pipeline failure (code raised) is a rollback trigger; a data incident (input refused) is
        # the data team's: the review topic, and a rollback only when systemic (infra.monitoring.incidents).
        spec("pipeline-failures", metrics.PIPELINE_FAILURES, "Sum", 0.0, IMMEDIATE,
             "a symbol's forecast failed in code (pipeline failure: rollback trigger)"),
        spec("data-incidents", metrics.DATA_INCIDENTS, "Sum", 0.0, REVIEW,
             "a symbol's input was refused (data incident: for the data team, not a rollback)"),
        # Whole counts: more than min - 1 is at least the minimum.
        spec("data-incidents-count", metrics.DATA_INCIDENTS, "Sum", args.thresholds.data_incident_min_symbols - 1.0,
             None, f"at least {args.thresholds.data_incident_min_symbols} symbols' input refused in a run's hour "
             "(with data-incidents-share: systemic)"),
        # Calibration: a day's windows (every run of the day) hold the realised return inside the
        # 90% interval less than 80% or more than 98% of the time: the interval is mis-sized.
        spec("coverage-low", metrics.INTERVAL_COVERAGE, "Average", args.thresholds.coverage_alarm_low, REVIEW,
             f"a day's windows' 90% interval coverage below {args.thresholds.coverage_alarm_low:.0%}: intervals "
             "too narrow, review", comparison=LESS, period=86_400),
        spec("coverage-high", metrics.INTERVAL_COVERAGE, "Average", args.thresholds.coverage_alarm_high, REVIEW,
             f"a day's windows' 90% interval coverage above {args.thresholds.coverage_alarm_high:.0%}: intervals "
             "too wide, review", period=86_400),
        spec("rollback-divergence", metrics.SYMBOL_AVERAGE_DIVERGENCE, "Maximum", args.thresholds.divergence_rollback, None,
             f"a symbol's average divergence above {args.thresholds.divergence_rollback:.0%} (rollback trigger)"),
        spec("rollback-rmse", metrics.RMSE_VS_BASELINE, "Average", args.thresholds.rmse_rollback, None,
             f"RMSE more than {args.thresholds.rmse_rollback:.0%} worse than the baseline (rollback trigger)"),
    ]


# Alarm keys of the ROLLBACK triggers (jobs.contract.triggers): per horizon, and stack-wide.
ROLLBACK_KEYS: tuple[str, ...] = alarm_keys(Verdict.ROLLBACK, stack_wide=False)
ROLLBACK_STACK_KEYS: tuple[str, ...] = alarm_keys(Verdict.ROLLBACK, stack_wide=True)


def alarm_specs(args: MonitoringArgs) -> list[AlarmSpec]:
    """Every metric alarm of the stack, validated against CloudWatch's evaluation limits."""
    specs = [s for h in args.horizons for s in horizon_alarm_specs(args, h)]
    specs.append(AlarmSpec(
        "alert-storm", metrics.CRITICAL_ALERTS, {metrics.DIM_STACK: args.stack}, "Sum", GREATER, float(args.thresholds.alert_storm_count),
        args.thresholds.alert_storm_period_seconds, 1, NOT_BREACHING, IMMEDIATE,
        f"{args.stack}: more than {args.thresholds.alert_storm_count} critical events within "
        f"{args.thresholds.alert_storm_period_minutes} minutes (alert storm: rollback)",
    ))
    for s in specs:
        check_evaluation_window(s.key, s.period, s.evaluation_periods)
    return specs


def rollback_rule(args: MonitoringArgs) -> str:
    """The composite alarm rule: any ROLLBACK trigger's alarm of any horizon, or of the stack.

    ``forecasts-missing-<horizon>`` is itself a composite (``infra.monitoring.runs``): it waits
    for the horizon's own runs' grace, and nothing else does.
    """
    terms = [f'ALARM("{names.resource_name(args.stack, k, h)}")' for h in args.horizons for k in ROLLBACK_KEYS]
    terms += [f'ALARM("{names.resource_name(args.stack, k)}")' for k in ROLLBACK_STACK_KEYS]
    return " OR ".join(terms)
