"""Monitoring, ``ensemble:monitoring:Monitoring``: SNS topics, CloudWatch alarms, a composite rollback alarm,
Batch failure events, a dashboard.

Every alarm and widget is built from the metric contract in ``jobs.contract.metrics`` (namespace,
names, dimension sets), so the stack watches exactly what the job publishes. The rollback
composite is made of exactly the alarms of the ROLLBACK triggers in ``jobs.contract.triggers``.
The alarm definitions are plain data (``infra.monitoring.alarms.alarm_specs``) so tests can
evaluate them against published datapoints, and the dashboard body is built in
``infra.monitoring.dashboard``; ``Monitoring`` turns them into resources.

Alarms follow the schedules: with ``schedulesEnabled: false`` no alarm of the stack has its
actions enabled. A missing forecast only counts once the horizon's schedule has fired
(``schedule-idle-<horizon>`` watches EventBridge's own ``TriggeredRules``), and the rollback
composite's actions stay suppressed for an explicit first-run grace (the job timeout) after a
schedule that had not fired starts firing, so a new stack does not page before its first run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import names
from infra.monitoring.alarms import IMMEDIATE, REVIEW, AlarmSpec, alarm_specs, awaiting_schedule_rule, rollback_rule
from infra.monitoring.args import MonitoringArgs
from infra.monitoring.dashboard import dashboard_body

TYPE_PREFIX = "ensemble:monitoring"
# How long the rollback composite waits for the "awaiting schedule" suppressor to reach ALARM
# when both change together (a new stack): CloudWatch's ActionsSuppressorWaitPeriod.
SUPPRESSOR_WAIT_SECONDS = 300


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
    """Topics, alarms, the rollback composite, Batch failure events and the dashboard of one stack.

    Args:
        name: The component's logical name.
        args: The stack's monitoring arguments.
        job_queue_arns: Batch job queues whose FAILED jobs notify on-call (empty: any queue).
        opts: Resource options.
    """

    def __init__(self, name: str, args: MonitoringArgs, job_queue_arns: Sequence[pulumi.Input[str]] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.topics = {
            kind: aws.sns.Topic(f"{name}-{kind}", name=names.resource_name(args.stack, kind), tags=tags, opts=child)
            for kind in (REVIEW, IMMEDIATE)
        }
        for kind, emails in ((REVIEW, args.review_emails), (IMMEDIATE, args.immediate_emails)):
            for i, email in enumerate(emails):
                aws.sns.TopicSubscription(f"{name}-{kind}-email-{i}", topic=self.topics[kind].arn, protocol="email",
                                          endpoint=email, opts=child)
        self.alarms = {s.key: self._alarm(name, args, s, tags, child) for s in alarm_specs(args)}
        after_alarms = pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values()))
        self.awaiting_schedule = aws.cloudwatch.CompositeAlarm(
            f"{name}-awaiting-schedule", alarm_name=names.resource_name(args.stack, "awaiting-schedule"),
            alarm_description=f"{args.stack}: a schedule has not fired within its period (off, or a new stack); "
                              "suppresses the rollback alarm's actions (no actions of its own)",
            alarm_rule=awaiting_schedule_rule(args), actions_enabled=False, tags=tags, opts=after_alarms)
        self.rollback_alarm = aws.cloudwatch.CompositeAlarm(
            f"{name}-rollback-required", alarm_name=names.resource_name(args.stack, "rollback-required"),
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
            f"{name}-batch-failed", name=names.resource_name(args.stack, "batch-failed"),
            description=f"{args.stack}: an AWS Batch job FAILED",
            event_pattern=pulumi.Output.all(*job_queue_arns).apply(batch_failure_pattern), tags=tags, opts=child)
        self.topic_policies = [self._policy(name, kind, args, child) for kind in (REVIEW, IMMEDIATE)]
        aws.cloudwatch.EventTarget(
            f"{name}-batch-failed-target", rule=self.batch_failed_rule.name, arn=self.topics[IMMEDIATE].arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"job": "$.detail.jobName", "id": "$.detail.jobId", "reason": "$.detail.statusReason"},
                input_template=f'"{args.stack}: Batch job <job> (<id>) FAILED: <reason>"'),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.topic_policies))
        arns = [a.arn for a in self.alarms.values()] + [self.awaiting_schedule.arn, self.rollback_alarm.arn]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=names.stack_prefix(args.stack),
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
            f"{name}-{s.key}", name=names.resource_name(args.stack, s.key), alarm_description=s.description,
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
