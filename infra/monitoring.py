"""Monitoring: SNS topics, CloudWatch alarms, a composite rollback alarm, Batch failure events, a dashboard.

Every alarm and widget is built from the metric contract in ``jobs.contract.metrics`` (namespace,
names, dimension sets), so the stack watches exactly what the job publishes. The rollback
composite is made of exactly the alarms of the ROLLBACK triggers in ``jobs.contract.triggers``.
The alarm definitions are plain data (``infra.alarms.alarm_specs``) so tests can evaluate them
against published datapoints, and the dashboard body is built in ``infra.dashboard``;
``Monitoring`` turns them into resources.

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

from infra.alarms import (
    IMMEDIATE,
    MAX_EVALUATION_SECONDS,
    REVIEW,
    ROLLBACK_KEYS,
    AlarmSpec,
    alarm_specs,
    awaiting_schedule_rule,
    check_evaluation_window,
    rollback_rule,
)
from infra.batch import job_name
from infra.dashboard import dashboard_body
from infra.schedules import run_intervals
from jobs.contract.thresholds import Thresholds

if TYPE_CHECKING:
    from infra.settings import Settings

# The alarm specs live in infra.alarms and the dashboard body in infra.dashboard; the alarm names
# tests read through this module (``mon.alarm_specs`` ...) are re-exported here.
__all__ = [
    "DEFAULT_RUN_INTERVALS", "IMMEDIATE", "MAX_EVALUATION_SECONDS", "REVIEW", "ROLLBACK_KEYS",
    "SUPPRESSOR_WAIT_SECONDS", "TYPE_PREFIX", "AlarmSpec", "Monitoring", "MonitoringArgs", "alarm_specs",
    "batch_failure_pattern", "check_evaluation_window", "monitoring_args", "topic_policy",
]

TYPE_PREFIX = "ensemble:monitoring"
DEFAULT_RUN_INTERVALS: dict[str, int] = {"1D": 86_400, "4h": 14_400, "8h": 28_800}
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
