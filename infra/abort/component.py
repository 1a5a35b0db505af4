"""The automatic abort, ``ensemble:abort:AutoAbort``: no code of ours runs when the phase goes bad.

When the stack's ``rollback-required`` composite alarm enters ALARM, CloudWatch sends a
"CloudWatch Alarm State Change" event to EventBridge (delivery is guaranteed). Rules matching
exactly that alarm's event start the AWS-owned runbook ``AWS-DisableEventBridgeRule`` once per
schedule rule of the stack (one rule per horizon: EventBridge allows five targets a rule),
tell the team on the immediate topic, and optionally start the repository's rollback workflow
(``repository_dispatch`` through an EventBridge API destination; the token stays in Secrets
Manager). The schedules stay off until a deploy puts them back (``pulumi up --refresh``: the
rules' state changed outside Pulumi).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from infra.abort import documents
from infra.abort.args import AbortArgs, DispatchArgs
from infra.batch import iam


class AutoAbort(pulumi.ComponentResource):
    """The abort's rules, targets and roles.

    Args:
        name: The component's logical name.
        args: The abort's settings.
        alarm_arn: The rollback composite alarm's ARN.
        topic_arn: The immediate (on-call) topic; its policy must admit the notify rule.
        schedules: Horizon -> job group -> the stack's schedule rule of that group and horizon.
        opts: Resource options.

    Attributes:
        rules: Every rule of the abort (per horizon, then the notify rule).
    """

    def __init__(self, name: str, args: AbortArgs, alarm_arn: pulumi.Input[str], topic_arn: pulumi.Input[str],
                 schedules: Mapping[str, Mapping[str, aws.cloudwatch.EventRule]],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ensemble:abort:AutoAbort", name, None, opts)
        self._args, self._tags = args, dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        pattern = pulumi.Output.from_input(alarm_arn).apply(
            lambda arn: json.dumps(documents.alarm_pattern(arn, args.alarm_name), sort_keys=True))
        self.rules = {h: self._rule(f"{name}-{h}", args.horizon_rule_name(h), f"disable horizon {h}'s schedules",
                                    pattern) for h in schedules}
        self.notify_rule = self._rule(f"{name}-notify", args.notify_rule_name, "tell the team", pattern)
        all_schedules = [r for rules in schedules.values() for r in rules.values()]
        automation_role = self._role(
            f"{name}-automation-role", "ssm.amazonaws.com", account,
            pulumi.Output.concat("arn:aws:ssm:", region, ":", account, ":automation-execution/*"),
            "SSM Automation: disable the stack's schedules (AWS-DisableEventBridgeRule)",
            documents.automation_policy([r.arn for r in all_schedules], region, account))
        destination = self._destination(name, args.dispatch) if args.dispatch else None
        events_role = self._role(
            f"{name}-events-role", "events.amazonaws.com", account,
            [r.arn for r in (*self.rules.values(), self.notify_rule)],
            "EventBridge: start the abort runbook (and the rollback workflow)",
            documents.events_policy(region, account, automation_role.arn, destination.arn if destination else None))
        runbook = documents.runbook_arn(region, account)
        for horizon, rules in schedules.items():
            for group, schedule in rules.items():
                aws.cloudwatch.EventTarget(
                    f"{name}-{group}-{horizon}", rule=self.rules[horizon].name, arn=runbook,
                    role_arn=events_role.arn,
                    input=pulumi.Output.all(schedule.name, automation_role.arn).apply(
                        lambda a: documents.runbook_input(a[0], a[1])), opts=child)
        rule_names = pulumi.Output.all(*(r.name for r in all_schedules)).apply(lambda n: ", ".join(sorted(n)))
        aws.cloudwatch.EventTarget(
            f"{name}-notify-target", rule=self.notify_rule.name, arn=topic_arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"alarm": "$.detail.alarmName", "time": "$.time"},
                input_template=rule_names.apply(lambda n: json.dumps(
                    f"{args.stack}: automatic abort at <time>: <alarm> is in ALARM, so the stack's schedules are "
                    f"being disabled ({n}). Roll back: python -m jobs.rollback --stack {args.stack}"))),
            opts=child)
        if destination is not None and args.dispatch is not None:
            self._dispatch_target(name, args.dispatch, destination, events_role, child)
        self.register_outputs({"notifyRuleArn": self.notify_rule.arn})

    def _rule(self, name: str, rule_name: str, what: str, pattern: pulumi.Output[str]) -> aws.cloudwatch.EventRule:
        return aws.cloudwatch.EventRule(
            name, name=rule_name, event_pattern=pattern,
            description=f"{self._args.stack}: {self._args.alarm_name} entered ALARM: abort ({what})",
            # Off with the schedules: a stack that runs nothing has nothing to abort or report.
            state="ENABLED" if self._args.active else "DISABLED", tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self))

    def _role(self, name: str, service: str, account: pulumi.Output[str],
              sources: pulumi.Input[str] | Sequence[pulumi.Input[str]], description: str,
              policy: dict[str, object]) -> aws.iam.Role:
        role = aws.iam.Role(name, assume_role_policy=pulumi.Output.json_dumps(
            iam.assume_role_policy(service, account, sources)), description=description, tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self))
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=pulumi.Output.json_dumps(policy),
                           opts=pulumi.ResourceOptions(parent=self))
        return role

    def _destination(self, name: str, dispatch: DispatchArgs) -> aws.cloudwatch.EventApiDestination:
        # Read at deploy time as a Pulumi secret; EventBridge keeps it in its own managed secret.
        token = aws.secretsmanager.get_secret_version_output(
            secret_id=dispatch.token_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self)).secret_string
        connection = aws.cloudwatch.EventConnection(
            f"{name}-github", name=f"{self._args.notify_rule_name}-github", authorization_type="API_KEY",
            description=f"GitHub repository_dispatch on {dispatch.repository}",
            auth_parameters=aws.cloudwatch.EventConnectionAuthParametersArgs(
                api_key=aws.cloudwatch.EventConnectionAuthParametersApiKeyArgs(
                    key="Authorization", value=pulumi.Output.secret(pulumi.Output.concat("Bearer ", token))),
                invocation_http_parameters=aws.cloudwatch.EventConnectionAuthParametersInvocationHttpParametersArgs(
                    headers=[aws.cloudwatch.EventConnectionAuthParametersInvocationHttpParametersHeaderArgs(
                        key="Accept", value="application/vnd.github+json", is_value_secret=False)])),
            opts=pulumi.ResourceOptions(parent=self))
        return aws.cloudwatch.EventApiDestination(
            f"{name}-rollback-workflow", name=f"{self._args.notify_rule_name}-rollback-workflow",
            description=f"Start the rollback workflow of {dispatch.repository}",
            invocation_endpoint=dispatch.endpoint, http_method="POST", invocation_rate_limit_per_second=1,
            connection_arn=connection.arn, opts=pulumi.ResourceOptions(parent=self))

    def _dispatch_target(self, name: str, dispatch: DispatchArgs, destination: aws.cloudwatch.EventApiDestination,
                         role: aws.iam.Role, child: pulumi.ResourceOptions) -> None:
        payload = {"event_type": dispatch.event_type,
                   "client_payload": {"stack": self._args.stack, "alarm": "<alarm>", "time": "<time>"}}
        aws.cloudwatch.EventTarget(
            f"{name}-rollback-workflow-target", rule=self.notify_rule.name, arn=destination.arn, role_arn=role.arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={"alarm": "$.detail.alarmName", "time": "$.time"},
                input_template=json.dumps(payload).replace('"<alarm>"', "<alarm>").replace('"<time>"', "<time>")),
            opts=child)
