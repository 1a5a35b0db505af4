"""Monitoring: SNS topics, CloudWatch alarms, a composite rollback alarm, Batch failure events, a dashboard.

Every alarm and widget is built from the metric contract in ``jobs.contract.metrics`` (namespace,
names, dimension sets), so the stack watches exactly what the job publishes. The rollback
composite is made of exactly the alarms of the ROLLBACK triggers in ``jobs.contract.triggers``.
The alarm definitions are plain data (``alarm_specs``) so tests can evaluate them against
published datapoints; ``Monitoring`` turns them into resources.

Alarms follow the schedules: with ``schedulesEnabled: false`` no alarm of the stack has its
actions enabled. A missing forecast only counts once the horizon's schedule has fired
(``schedule-idle-<horizon>`` watches EventBridge's own ``TriggeredRules``), and the rollback
composite's actions stay suppressed for an explicit first-run grace (the job timeout) after a
schedule that had not fired starts firing, so a new stack does not page before its first run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from infra.batch import job_name
from infra.schedules import run_intervals
from jobs.contract import metrics
from jobs.contract.thresholds import Thresholds
from jobs.contract.triggers import Verdict, alarm_keys

if TYPE_CHECKING:
    from infra.settings import Settings

TYPE_PREFIX = "ensemble:monitoring"
REVIEW = "review"
IMMEDIATE = "immediate"
GREATER = "GreaterThanThreshold"
LESS = "LessThanThreshold"
BREACHING = "breaching"
NOT_BREACHING = "notBreaching"

# PutMetricAlarm limits (CloudWatch API reference): period*evaluation_periods is at most
# 7 days, and at most 1 day when the period is shorter than an hour.
MAX_EVALUATION_SECONDS = 7 * 86_400
MAX_SHORT_PERIOD_EVALUATION_SECONDS = 86_400
# One hour holds one scheduled run's datapoints; the alarm returns to OK the next hour.
RUN_PERIOD_SECONDS = 3_600
DEFAULT_RUN_INTERVALS: dict[str, int] = {"1D": 86_400, "4h": 14_400, "8h": 28_800}
# EventBridge's metrics of a default-bus rule (dimension RuleName only).
EVENTS_NAMESPACE = "AWS/Events"
TRIGGERED_RULES = "TriggeredRules"
SCHEDULE_IDLE = "schedule-idle"
# How long the rollback composite waits for the "awaiting schedule" suppressor to reach ALARM
# when both change together (a new stack): CloudWatch's ActionsSuppressorWaitPeriod.
SUPPRESSOR_WAIT_SECONDS = 300


@dataclass(frozen=True)
class MonitoringArgs:
    """What the monitoring component needs from the stack's settings.

    Attributes:
        stack: Stack name; the ``Stack`` dimension value and part of every name.
        horizons: Horizons the stack forecasts; aggregate alarms exist per horizon.
        region: AWS region for the dashboard's widgets.
        thresholds: Every alarm threshold (``jobs.contract.thresholds``; the document's by default).
        review_emails: Subscribers of the review topic.
        immediate_emails: Subscribers of the immediate (on-call) topic.
        run_intervals: Horizon -> longest gap in seconds between scheduled runs; no forecast
            within it alarms.
        job_queue_arns: Batch job queues whose FAILED jobs notify on-call (empty: any queue).
        tags: Tags for every taggable resource.
        schedules_enabled: Whether the stack's schedules fire; false turns every alarm's actions off.
        schedule_rules: Horizon -> the EventBridge rule that starts its runs (default: the job's name).
        first_run_grace_seconds: After a schedule starts firing, how long the rollback composite
            keeps its actions suppressed so the first run can finish (the job timeout).
    """

    stack: str
    horizons: tuple[str, ...]
    region: str
    thresholds: Thresholds = field(default_factory=Thresholds)
    review_emails: tuple[str, ...] = ()
    immediate_emails: tuple[str, ...] = ()
    run_intervals: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RUN_INTERVALS))
    job_queue_arns: tuple[pulumi.Input[str], ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    schedules_enabled: bool = True
    schedule_rules: Mapping[str, str] = field(default_factory=dict)
    first_run_grace_seconds: int = 3_600

    def __post_init__(self) -> None:
        if not self.horizons:
            raise ValueError("MonitoringArgs.horizons is empty: list at least one horizon")
        missing = [h for h in self.horizons if h not in self.run_intervals]
        if missing:
            raise ValueError(f"run_intervals has no entry for horizons {', '.join(missing)}")
        if not 60 <= self.first_run_grace_seconds <= 86_400:
            raise ValueError(f"first_run_grace_seconds={self.first_run_grace_seconds} is invalid: "
                             "expected 60 to 86400 seconds")

    def rule_name(self, horizon: str) -> str:
        """The EventBridge rule that starts ``horizon``'s runs (``infra.batch.job_name`` of the core group)."""
        return self.schedule_rules.get(horizon, f"ensemble-forecast-{self.stack}-{horizon}")

    @property
    def prefix(self) -> str:
        """Name prefix of every alarm, topic and rule of this stack."""
        return f"ensemble-forecast-{self.stack}"


def monitoring_args(settings: Settings, job_queue_arn: pulumi.Input[str], region: str | None = None) -> MonitoringArgs:
    """The component's arguments from a stack's validated settings.

    Args:
        settings: The stack's settings (thresholds, subscriptions and schedules).
        job_queue_arn: The forecast job's Batch queue, whose FAILED jobs notify on-call.
        region: Dashboard region; defaults to the stack's ``aws:region``.
    """
    mon = settings.monitoring
    core = next(g for g in settings.groups if g.name == "core")  # every stack has it; its rule starts each run
    return MonitoringArgs(
        stack=settings.stack, horizons=settings.horizons,
        region=region or pulumi.Config("aws").require("region"),
        thresholds=mon.thresholds,
        review_emails=mon.review_emails, immediate_emails=mon.immediate_emails,
        # The job may run up to its timeout after the scheduled time before it publishes.
        run_intervals=run_intervals(dict(mon.schedules), settings.batch.job_timeout_seconds),
        job_queue_arns=(job_queue_arn,), tags=settings.tags,
        schedules_enabled=mon.schedules_enabled,
        schedule_rules={h: job_name(settings.stack, core, h) for h in settings.horizons},
        first_run_grace_seconds=settings.batch.job_timeout_seconds,
    )


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
        spec("forecasts-failed", metrics.FORECASTS_FAILED, "Sum", 0.0, IMMEDIATE, "a symbol's forecast failed"),
        # No data at all means the scheduled run did not happen: that must alarm too. It pages
        # through the rollback composite only, which ignores it while the schedule is idle.
        spec("forecasts-missing", metrics.FORECASTS_WRITTEN, "Sum", 1.0, None,
             f"no forecast written within {args.run_intervals[horizon] / 3_600:g}h (longest gap between "
             "scheduled runs plus the job timeout; rollback trigger)", comparison=LESS,
             period=args.run_intervals[horizon], missing=BREACHING),
        # The schedule has not fired within the same period: switched off, or not yet fired on a new stack.
        AlarmSpec(f"{SCHEDULE_IDLE}-{horizon}", TRIGGERED_RULES, {"RuleName": args.rule_name(horizon)}, "Sum",
                  LESS, 1.0, args.run_intervals[horizon], 1, BREACHING, None,
                  f"{args.stack} {horizon}: schedule {args.rule_name(horizon)} has not fired within "
                  f"{args.run_intervals[horizon] / 3_600:g}h (off, or not yet fired)", EVENTS_NAMESPACE),
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

    An alarm that fires on *absent* data (missing treated as breaching) counts only while its
    horizon's schedule is firing, so a stack whose schedules are off or have not fired yet is
    not in ALARM for missing forecasts.
    """
    absent = {s.key for s in alarm_specs(args) if s.treat_missing_data == BREACHING}
    terms = []
    for h in args.horizons:
        for k in ROLLBACK_KEYS:
            term = f'ALARM("{args.prefix}-{k}-{h}")'
            if f"{k}-{h}" in absent:
                term = f'({term} AND NOT ALARM("{args.prefix}-{SCHEDULE_IDLE}-{h}"))'
            terms.append(term)
    terms += [f'ALARM("{args.prefix}-{k}")' for k in ROLLBACK_STACK_KEYS]
    return " OR ".join(terms)


def awaiting_schedule_rule(args: MonitoringArgs) -> str:
    """The suppressor's rule: some horizon's schedule has not fired within its period."""
    return " OR ".join(f'ALARM("{args.prefix}-{SCHEDULE_IDLE}-{h}")' for h in args.horizons)


def batch_failure_pattern(queue_arns: Sequence[str]) -> str:
    """EventBridge pattern for FAILED Batch jobs, limited to ``queue_arns`` when given."""
    detail: dict[str, Any] = {"status": ["FAILED"]}
    if queue_arns:
        detail["jobQueue"] = list(queue_arns)
    return json.dumps({"source": ["aws.batch"], "detail-type": ["Batch Job State Change"], "detail": detail})


def topic_policy(topic_arn: str, alarm_prefix: str, rule_arn: str | None = None) -> str:
    """Topic policy: this account's alarms (and the Batch failure rule, if given) may publish.

    A topic policy replaces SNS's default one, so each service principal is named and
    pinned to the account and the exact sources (no confused deputy); nothing else is granted.
    """
    parts = topic_arn.split(":")
    if len(parts) != 6 or not parts[4]:
        raise ValueError(f"topic ARN {topic_arn!r} is invalid: expected arn:aws:sns:<region>:<account>:<name>")
    partition, region, account = parts[1], parts[3], parts[4]
    statements: list[dict[str, Any]] = [
        {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:"
                                                    f"{alarm_prefix}-*"},
                       "StringEquals": {"aws:SourceAccount": account}}},
    ]
    if rule_arn is not None:
        statements.append(
            {"Sid": "BatchFailureEvents", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _metric(name: str, dims: Mapping[str, str], **opts: Any) -> list[Any]:
    row: list[Any] = [metrics.NAMESPACE, name]
    for k, v in dims.items():
        row += [k, v]
    return row + [opts] if opts else row


def _graph(title: str, region: str, metrics: list[list[Any]], *, stat: str = "Average", period: int = 3_600,
           lines: Sequence[tuple[str, float]] = (), view: str = "timeSeries") -> dict[str, Any]:
    props: dict[str, Any] = {"title": title, "region": region, "view": view, "stat": stat, "period": period,
                             "metrics": metrics}
    if lines:
        props["annotations"] = {"horizontal": [{"label": label, "value": v} for label, v in lines]}
    return {"type": "metric", "width": 12, "height": 6, "properties": props}


def search_expression(stack: str, metric: str, stat: str, period: int) -> str:
    """A SEARCH over every symbol of ``stack`` for ``metric`` (scales to prod's 100+ symbols)."""
    dims = ",".join(sorted(metrics.PER_SYMBOL))
    return f"SEARCH('{{{metrics.NAMESPACE},{dims}}} MetricName=\"{metric}\" {metrics.DIM_STACK}=\"{stack}\"', '{stat}', {period})"


def dashboard_widgets(args: MonitoringArgs, alarm_arns: Sequence[str]) -> list[dict[str, Any]]:
    """The dashboard's widgets: the rollout document's charts, per horizon, plus alarm status."""
    r = args.region
    agg = [{metrics.DIM_STACK: args.stack, metrics.DIM_HORIZON: h} for h in args.horizons]
    warn, crit = ("warning", args.thresholds.divergence_warning), ("critical", args.thresholds.divergence_critical)
    widgets = [
        {"type": "alarm", "width": 24, "height": 3,
         "properties": {"title": f"{args.stack}: alarms", "alarms": list(alarm_arns)}},
        _graph("Divergence trends: validation vs test RMSE", r,
               [_metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg for n in (metrics.VALIDATION_RMSE, metrics.TEST_RMSE)]),
        _graph("Overfitting alerts: max window divergence", r,
               [_metric(metrics.DIVERGENCE, d, label=f"max divergence {d[metrics.DIM_HORIZON]}") for d in agg]
               + [_metric(metrics.OVERFITTING_WINDOWS, d, stat="Sum", yAxis="right",
                          label=f"overfitting windows {d[metrics.DIM_HORIZON]}") for d in agg],
               stat="Maximum", lines=(warn, crit)),
        _graph("RMSE: 2-model ensemble vs legacy baseline", r,
               [_metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg for n in (metrics.TEST_RMSE, metrics.BASELINE_TEST_RMSE)]
               + [_metric(metrics.RMSE_VS_BASELINE, d, yAxis="right", label=f"relative gap {d[metrics.DIM_HORIZON]}") for d in agg],
               lines=(("escalate", args.thresholds.rmse_escalation), ("rollback", args.thresholds.rmse_rollback))),
    ]
    quality: list[list[Any]] = []
    for i, d in enumerate(agg):
        quality += [_metric(metrics.WINDOWS_EVALUATED, d, id=f"w{i}", label=f"windows {d[metrics.DIM_HORIZON]}"),
                    _metric(metrics.OVERFITTING_WINDOWS, d, id=f"o{i}", label=f"overfitting {d[metrics.DIM_HORIZON]}"),
                    [{"expression": f"100 * o{i} / w{i}", "label": f"% overfitting {d[metrics.DIM_HORIZON]}",
                      "id": f"p{i}", "yAxis": "right"}]]
    widgets.append(_graph("Window quality", r, quality, stat="Sum"))
    t = args.thresholds
    widgets.append(_graph("Interval calibration: test-slice coverage of the 90% interval (daily average)", r,
                          [_metric(metrics.INTERVAL_COVERAGE, d, label=f"coverage {d[metrics.DIM_HORIZON]}")
                           for d in agg], period=86_400,
                          lines=(("alarm low", t.coverage_alarm_low), ("review low", t.coverage_review_low),
                                 ("nominal", 0.9), ("review high", t.coverage_review_high),
                                 ("alarm high", t.coverage_alarm_high))))
    widgets.append(_graph("Symbol health: average divergence per symbol", r, [
        [{"expression": search_expression(args.stack, metrics.SYMBOL_AVERAGE_DIVERGENCE, "Maximum", 86_400),
          "id": "health", "label": ""}]], stat="Maximum", period=86_400,
        lines=(("rollback", args.thresholds.divergence_rollback),)))
    widgets.append(_graph("Forecast generation", r, [
        _metric(n, d, label=f"{n} {d[metrics.DIM_HORIZON]}") for d in agg
        for n in (metrics.FORECASTS_WRITTEN, metrics.FORECASTS_FAILED, metrics.MODEL_ERRORS)
    ] + [_metric(metrics.CRITICAL_ALERTS, {metrics.DIM_STACK: args.stack}, label="critical events")], stat="Sum",
        lines=(("storm", args.thresholds.alert_storm_count),)))
    return widgets


def dashboard_body(args: MonitoringArgs, alarm_arns: Sequence[str]) -> str:
    """The dashboard JSON body."""
    return json.dumps({"widgets": dashboard_widgets(args, alarm_arns)}, sort_keys=True)


class Monitoring(pulumi.ComponentResource):
    """Topics, alarms, the rollback composite, Batch failure events and the dashboard of one stack."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.topics = {
            kind: aws.sns.Topic(f"{name}-{kind}", name=f"{args.prefix}-{kind}", tags=tags, opts=child)
            for kind in (REVIEW, IMMEDIATE)
        }
        for kind, emails in ((REVIEW, args.review_emails), (IMMEDIATE, args.immediate_emails)):
            for i, email in enumerate(emails):
                aws.sns.TopicSubscription(f"{name}-{kind}-email-{i}", topic=self.topics[kind].arn, protocol="email",
                                          endpoint=email, opts=child)
        self.alarms = {s.key: self._alarm(name, args, s, tags, child) for s in alarm_specs(args)}
        after_alarms = pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values()))
        self.awaiting_schedule = aws.cloudwatch.CompositeAlarm(
            f"{name}-awaiting-schedule", alarm_name=f"{args.prefix}-awaiting-schedule",
            alarm_description=f"{args.stack}: a schedule has not fired within its period (off, or a new stack); "
                              "suppresses the rollback alarm's actions (no actions of its own)",
            alarm_rule=awaiting_schedule_rule(args), actions_enabled=False, tags=tags, opts=after_alarms)
        self.rollback_alarm = aws.cloudwatch.CompositeAlarm(
            f"{name}-rollback-required", alarm_name=f"{args.prefix}-rollback-required",
            alarm_description=f"{args.stack}: a rollback trigger fired; revert to the previous stack config",
            alarm_rule=rollback_rule(args), alarm_actions=[self.topics[IMMEDIATE].arn],
            actions_enabled=args.schedules_enabled,
            # The first-run grace: actions wait this long after the schedule starts firing.
            actions_suppressor=aws.cloudwatch.CompositeAlarmActionsSuppressorArgs(
                alarm=self.awaiting_schedule.alarm_name, extension_period=args.first_run_grace_seconds,
                wait_period=SUPPRESSOR_WAIT_SECONDS),
            tags=tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.alarms.values(),
                                                                            self.awaiting_schedule]))
        self.batch_failed_rule = aws.cloudwatch.EventRule(
            f"{name}-batch-failed", name=f"{args.prefix}-batch-failed",
            description=f"{args.stack}: an AWS Batch job FAILED",
            event_pattern=pulumi.Output.all(*args.job_queue_arns).apply(batch_failure_pattern), tags=tags, opts=child)
        self.topic_policies = [self._policy(name, kind, args, child) for kind in (REVIEW, IMMEDIATE)]
        aws.cloudwatch.EventTarget(
            f"{name}-batch-failed-target", rule=self.batch_failed_rule.name, arn=self.topics[IMMEDIATE].arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"job": "$.detail.jobName", "id": "$.detail.jobId", "reason": "$.detail.statusReason"},
                input_template=f'"{args.stack}: Batch job <job> (<id>) FAILED: <reason>"'),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.topic_policies))
        arns = [a.arn for a in self.alarms.values()] + [self.awaiting_schedule.arn, self.rollback_alarm.arn]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=f"{args.prefix}",
            dashboard_body=pulumi.Output.all(*arns).apply(lambda a: dashboard_body(args, a)), opts=child)
        self.register_outputs({
            "reviewTopicArn": self.topics[REVIEW].arn,
            "immediateTopicArn": self.topics[IMMEDIATE].arn,
            "rollbackAlarmArn": self.rollback_alarm.arn,
            "dashboardName": self.dashboard.dashboard_name,
        })

    def _alarm(self, name: str, args: MonitoringArgs, s: AlarmSpec, tags: dict[str, str],
               opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
        actions = [self.topics[s.topic].arn] if s.topic else []
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{s.key}", name=f"{args.prefix}-{s.key}", alarm_description=s.description,
            namespace=s.namespace, metric_name=s.metric, dimensions=dict(s.dimensions), statistic=s.statistic,
            comparison_operator=s.comparison, threshold=s.threshold, period=s.period,
            evaluation_periods=s.evaluation_periods, datapoints_to_alarm=s.evaluation_periods,
            treat_missing_data=s.treat_missing_data, actions_enabled=args.schedules_enabled,
            alarm_actions=actions, ok_actions=actions if s.topic == IMMEDIATE else [], tags=tags, opts=opts)

    def _policy(self, name: str, kind: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> aws.sns.TopicPolicy:
        topic = self.topics[kind]
        if kind == IMMEDIATE:
            policy = pulumi.Output.all(topic.arn, self.batch_failed_rule.arn).apply(
                lambda a: topic_policy(a[0], args.prefix, a[1]))
        else:
            policy = topic.arn.apply(lambda arn: topic_policy(arn, args.prefix))
        return aws.sns.TopicPolicy(f"{name}-{kind}-policy", arn=topic.arn, policy=policy, opts=opts)
