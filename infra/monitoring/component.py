"""Monitoring, ``ensemble:monitoring:Monitoring``: SNS topics, CloudWatch alarms, a composite rollback alarm,
Batch failure events, a dashboard.

Every alarm and widget is built from the metric contract in ``jobs.contract.metrics`` (namespace,
names, dimension sets), so the stack watches exactly what the job publishes. The rollback
composite is made of exactly the alarms of the ROLLBACK triggers in ``jobs.contract.triggers``.
The alarm definitions are plain data (``infra.monitoring.alarms.alarm_specs``, and the
missed-run alarms of ``infra.monitoring.runs``) so tests can evaluate them against published
datapoints, and the dashboard body is built in ``infra.monitoring.dashboard``; ``Monitoring``
turns them into resources.

Alarms follow the schedules: with ``schedulesEnabled: false`` no alarm of the stack has its
actions enabled and the Batch failure rule is disabled, so nothing notifies. No alarm can fire
before a horizon's first run, and a missing forecast counts only after its own run's grace
(``infra.monitoring.runs``), so the rollback composite needs no actions suppressor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import names
from infra.monitoring.alarms import IMMEDIATE, REVIEW, AlarmSpec, alarm_specs, rollback_rule
from infra.monitoring.args import MonitoringArgs
from infra.monitoring.dashboard import dashboard_body
from infra.monitoring.incidents import SYSTEMIC, all_share_alarm_specs, systemic_rule
from infra.monitoring.runs import MISSING, MathAlarmSpec, all_run_alarm_specs, missing_rule

TYPE_PREFIX = "ensemble:monitoring"


def batch_failure_pattern(queue_arns: Sequence[str]) -> str:
    """EventBridge pattern for FAILED Batch jobs, limited to ``queue_arns`` when given."""
    detail: dict[str, Any] = {"status": ["FAILED"]}
    if queue_arns:
        detail["jobQueue"] = list(queue_arns)
    return json.dumps({"source": ["aws.batch"], "detail-type": ["Batch Job State Change"], "detail": detail})


def _topic_parts(topic_arn: str) -> tuple[str, str, str]:
    parts = topic_arn.split(":")
    if len(parts) != 6 or not parts[4]:
        raise ValueError(f"topic ARN {topic_arn!r} is invalid: expected arn:aws:sns:<region>:<account>:<name>")
    return parts[1], parts[3], parts[4]


def sibling_rule_arn(topic_arn: str, rule_name: str) -> str:
    """The ARN of EventBridge rule ``rule_name`` (default bus) in the topic's account and region."""
    partition, region, account = _topic_parts(topic_arn)
    return f"arn:{partition}:events:{region}:{account}:rule/{rule_name}"


def topic_policy(topic_arn: str, alarm_prefix: str, rule_arns: Sequence[str] = ()) -> str:
    """Topic policy: this account's alarms (and exactly the EventBridge rules given) may publish.

    A topic policy replaces SNS's default one, so each service principal is named and
    pinned to the account and the exact sources (no confused deputy); nothing else is granted.
    """
    partition, region, account = _topic_parts(topic_arn)
    statements: list[dict[str, Any]] = [
        {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic_arn,
         "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:"
                                                    f"{alarm_prefix}-*"},
                       "StringEquals": {"aws:SourceAccount": account}}},
    ]
    if rule_arns:
        statements.append(
            {"Sid": "StackEventRules", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic_arn,
             "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class Monitoring(pulumi.ComponentResource):
    """Topics, alarms, the rollback composite, Batch failure events and the dashboard of one stack.

    Args:
        name: The component's logical name.
        args: The stack's monitoring arguments.
        job_queue_arns: Batch job queues whose FAILED jobs notify on-call (empty: any queue).
        notify_rules: Names of the stack's other EventBridge rules that may publish to the
            immediate topic (the automatic abort's).
        opts: Resource options.
    """

    def __init__(self, name: str, args: MonitoringArgs, job_queue_arns: Sequence[pulumi.Input[str]] = (),
                 notify_rules: Sequence[str] = (), opts: pulumi.ResourceOptions | None = None) -> None:
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
        self.alarms |= {s.key: self._math_alarm(name, args, s, tags, child)
                        for s in (*all_run_alarm_specs(args), *all_share_alarm_specs(args))}
        self.missing = {h: aws.cloudwatch.CompositeAlarm(
            f"{name}-{MISSING}-{h}", alarm_name=names.resource_name(args.stack, MISSING, h),
            alarm_description=f"{args.stack} {h}: forecasts due from a run of this horizon were neither written nor "
                              f"failed within the run's grace of {args.grace_seconds / 3_600:g}h (rollback trigger)",
            alarm_rule=missing_rule(args, h), actions_enabled=False, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values())))
            for h in args.horizons}
        self.systemic = {h: aws.cloudwatch.CompositeAlarm(
            f"{name}-{SYSTEMIC}-{h}", alarm_name=names.resource_name(args.stack, SYSTEMIC, h),
            alarm_description=f"{args.stack} {h}: a run's input refused for more than "
                              f"{args.thresholds.data_incident_share:.0%} of its tasks and at least "
                              f"{args.thresholds.data_incident_min_symbols}: a systemic data outage (rollback trigger)",
            alarm_rule=systemic_rule(args, h), actions_enabled=False, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values())))
            for h in args.horizons}
        self.rollback_alarm = aws.cloudwatch.CompositeAlarm(
            f"{name}-{names.ROLLBACK_ALARM}", alarm_name=names.resource_name(args.stack, names.ROLLBACK_ALARM),
            alarm_description=f"{args.stack}: a rollback trigger fired; revert to the previous stack config",
            alarm_rule=rollback_rule(args), alarm_actions=[self.topics[IMMEDIATE].arn],
            actions_enabled=args.schedules_enabled, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.alarms.values(), *self.missing.values(),
                                                                  *self.systemic.values()]))
        self.batch_failed_rule = aws.cloudwatch.EventRule(
            f"{name}-batch-failed", name=names.resource_name(args.stack, "batch-failed"),
            description=f"{args.stack}: an AWS Batch job FAILED",
            event_pattern=pulumi.Output.all(*job_queue_arns).apply(batch_failure_pattern),
            # No job runs while the schedules are off, so nothing may notify (not even a hand-run job).
            state="ENABLED" if args.schedules_enabled else "DISABLED", tags=tags, opts=child)
        self.topic_policies = [self._policy(name, kind, args, tuple(notify_rules), child) for kind in (REVIEW, IMMEDIATE)]
        aws.cloudwatch.EventTarget(
            f"{name}-batch-failed-target", rule=self.batch_failed_rule.name, arn=self.topics[IMMEDIATE].arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"job": "$.detail.jobName", "id": "$.detail.jobId", "reason": "$.detail.statusReason"},
                input_template=f'"{args.stack}: Batch job <job> (<id>) FAILED: <reason>"'),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.topic_policies))
        arns = [a.arn for a in (*self.alarms.values(), *self.missing.values(), *self.systemic.values(),
                                 self.rollback_alarm)]
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

    def _math_alarm(self, name: str, args: MonitoringArgs, s: MathAlarmSpec, tags: dict[str, str],
                    opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
        queries = [aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=q.id, return_data=False, metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=q.namespace, metric_name=q.metric, dimensions=dict(q.dimensions), stat=q.stat,
                period=s.period)) for q in s.queries]
        queries += [aws.cloudwatch.MetricAlarmMetricQueryArgs(id=i, expression=e, label=i,
                                                              return_data=i == s.expressions[-1][0])
                    for i, e in s.expressions]
        # No actions: the missed-run and systemic composites read them, and through them the rollback composite.
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{s.key}", name=names.resource_name(args.stack, s.key), alarm_description=s.description,
            metric_queries=queries, comparison_operator=s.comparison, threshold=s.threshold,
            evaluation_periods=s.evaluation_periods, datapoints_to_alarm=s.evaluation_periods,
            treat_missing_data=s.treat_missing_data, actions_enabled=False, tags=tags, opts=opts)

    def _policy(self, name: str, kind: str, args: MonitoringArgs, notify_rules: tuple[str, ...],
                opts: pulumi.ResourceOptions) -> aws.sns.TopicPolicy:
        topic = self.topics[kind]
        if kind == IMMEDIATE:
            policy = pulumi.Output.all(topic.arn, self.batch_failed_rule.arn).apply(
                lambda a: topic_policy(a[0], args.prefix, [a[1], *(sibling_rule_arn(a[0], r) for r in notify_rules)]))
        else:
            policy = topic.arn.apply(lambda arn: topic_policy(arn, args.prefix))
        return aws.sns.TopicPolicy(f"{name}-{kind}-policy", arn=topic.arn, policy=policy, opts=opts)
