"""The automatic abort: the rollback composite entering ALARM disables the stack's schedules, with no code of ours.

Each stack's abort rules (recorded from the real stack files under Pulumi mocks) are matched
against AWS's documented sample "CloudWatch Alarm State Change" event with moto's EventBridge
pattern matcher; their targets start the AWS-owned runbook ``AWS-DisableEventBridgeRule`` once
per schedule rule, with least-privilege roles.
"""

from __future__ import annotations

import json

import pytest

from tests.support.alarm_events import alarm_state_change, matches
from tests.support.stacks import (
    ACCOUNT,
    GITHUB_TOKEN,
    GITHUB_TOKEN_SECRET_ARN,
    REDACTED,
    REGION,
    STACKS,
    RecordedResource,
    StackRun,
    run_stack,
)

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
RUNBOOK = f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-definition/AWS-DisableEventBridgeRule"


def alarm_arn(name: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def abort_rules(run: StackRun) -> list[RecordedResource]:
    return [r for r in run.of_type(RULE) if r.name.startswith("abort-")]


def schedule_rules(run: StackRun) -> dict[str, RecordedResource]:
    return {r.inputs["name"]: r for r in run.of_type(RULE) if r.inputs.get("scheduleExpression")}


def policy(run: StackRun, name: str) -> list[dict[str, object]]:
    return run.named(name).inputs["policy"]["Statement"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_rules_match_this_alarm_entering_alarm_and_nothing_else(stack_runs: dict[str, StackRun],
                                                                     stack: str) -> None:
    run = stack_runs[stack]
    rollback = f"ensemble-forecast-{stack}-rollback-required"
    rules = abort_rules(run)
    assert len(rules) == len(run.outputs["horizons"]) + 1  # one per horizon, one to tell the team
    others = [r.inputs.get("name") or r.inputs["alarmName"] for r in
              run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") + run.of_type(
                  "aws:cloudwatch/compositeAlarm:CompositeAlarm")]
    assert rollback in others and len(others) > 10
    other_stacks = [f"ensemble-forecast-{s}-rollback-required" for s in STACKS if s != stack]
    for rule in rules:
        pattern = rule.inputs["eventPattern"]
        assert matches(pattern, alarm_state_change(rollback, alarm_arn(rollback))), rule.name
        assert matches(pattern, alarm_state_change(rollback, alarm_arn(rollback), previous="INSUFFICIENT_DATA"))
        # Not another alarm of the stack or of another stack, not a namesake elsewhere, not leaving ALARM,
        # not a new reason while it stays in ALARM (the schedules are off already; one notification).
        refused = [alarm_state_change(n, alarm_arn(n)) for n in others + other_stacks if n != rollback] + [
            alarm_state_change(rollback, alarm_arn(rollback, account="210987654321")),
            alarm_state_change(rollback, alarm_arn(rollback, region="eu-west-1")),
            alarm_state_change(rollback, alarm_arn(rollback), state="OK", previous="ALARM"),
            alarm_state_change(rollback, alarm_arn(rollback), state="ALARM", previous="ALARM"),
            {**alarm_state_change(rollback, alarm_arn(rollback)), "source": "aws.events"}]
        assert not [e["detail"]["alarmName"] for e in refused if matches(pattern, e)], rule.name
        assert rule.inputs["state"] == "ENABLED"


@pytest.mark.parametrize("stack", STACKS)
def test_the_targets_disable_every_schedule_of_the_stack(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    rules = {r.inputs["name"] for r in abort_rules(run)}
    targets = [t for t in run.of_type(TARGET) if t.inputs["rule"] in rules]
    runbook = [t for t in targets if t.inputs["arn"].startswith(RUNBOOK)]
    automation_role = f"arn:aws:iam::{ACCOUNT}:role/abort-automation-role"
    assert {t.inputs["input"]["RuleName"][0] for t in runbook} == set(schedule_rules(run)), "every schedule, once"
    assert len(runbook) == len(schedule_rules(run))
    for t in runbook:
        assert t.inputs["arn"] == f"{RUNBOOK}:$DEFAULT", t.name
        assert t.inputs["input"] == {"RuleName": t.inputs["input"]["RuleName"], "EventBusName": ["default"],
                                     "AutomationAssumeRole": [automation_role]}, t.name
        assert t.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/abort-events-role", t.name
        horizon = t.inputs["rule"].rsplit("-", 1)[1]
        assert t.inputs["input"]["RuleName"][0].endswith(f"-{horizon}"), f"{t.name}: its horizon's rule"
    per_rule = {r: sum(t.inputs["rule"] == r for t in targets) for r in rules}
    assert max(per_rule.values()) <= 5, f"EventBridge allows 5 targets a rule: {per_rule}"
    [notify] = [t for t in targets if t.inputs["arn"].endswith(f":ensemble-forecast-{stack}-immediate")]
    message = notify.inputs["inputTransformer"]["inputTemplate"]
    assert all(name in message for name in schedule_rules(run)) and f"--stack {stack}" in message
    assert notify.inputs["rule"] == f"ensemble-forecast-{stack}-auto-abort"


@pytest.mark.parametrize("stack", STACKS)
def test_the_roles_may_only_disable_those_rules_and_run_the_runbook(stack_runs: dict[str, StackRun],
                                                                    stack: str) -> None:
    run = stack_runs[stack]
    arns = sorted(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}" for name in schedule_rules(run))
    automation = {s["Sid"]: s for s in policy(run, "abort-automation-role-policy")}
    disable = automation["DisableTheStacksSchedules"]
    assert sorted(disable["Resource"]) == arns  # type: ignore[arg-type]
    assert automation == {
        "DisableTheStacksSchedules": {"Sid": "DisableTheStacksSchedules", "Effect": "Allow",
                                      "Action": ["events:DisableRule"], "Resource": disable["Resource"]},
        # What the runbook's documentation requires of its AutomationAssumeRole, scoped to it.
        "RunTheRunbook": {"Sid": "RunTheRunbook", "Effect": "Allow", "Action": ["ssm:StartAutomationExecution"],
                          "Resource": f"{RUNBOOK}:*"},
        "ReadItsExecution": {"Sid": "ReadItsExecution", "Effect": "Allow", "Action": ["ssm:GetAutomationExecution"],
                             "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-execution/*"}}
    events = {s["Sid"]: s for s in policy(run, "abort-events-role-policy")}
    assert events == {
        "StartTheRunbook": {"Sid": "StartTheRunbook", "Effect": "Allow", "Action": ["ssm:StartAutomationExecution"],
                            "Resource": f"{RUNBOOK}:*"},
        "PassTheAutomationRole": {"Sid": "PassTheAutomationRole", "Effect": "Allow", "Action": ["iam:PassRole"],
                                  "Resource": f"arn:aws:iam::{ACCOUNT}:role/abort-automation-role",
                                  "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}}}
    trust = {r.name: r.inputs["assumeRolePolicy"]["Statement"] for r in run.of_type("aws:iam/role:Role")}
    [ssm] = trust["abort-automation-role"]
    assert ssm["Principal"] == {"Service": "ssm.amazonaws.com"} and ssm["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:automation-execution/*"}}
    [eb] = trust["abort-events-role"]
    assert eb["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(eb["Condition"]["ArnLike"]["aws:SourceArn"]) == sorted(
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{r.inputs['name']}" for r in abort_rules(run))


def test_auto_abort_off_declares_nothing() -> None:
    run = run_stack("limited", {"autoAbort": False})
    assert not [r for r in run if r.name.startswith("abort")] and run.outputs["autoAbort"] is False
    statements = run.named("monitoring-immediate-policy").inputs["policy"]["Statement"]
    [events] = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ensemble-forecast-limited-batch-failed"]


def test_auto_abort_is_on_by_default_and_off_with_the_schedules(stack_runs: dict[str, StackRun]) -> None:
    assert all(stack_runs[s].outputs["autoAbort"] is True for s in STACKS)
    off = run_stack("canary", {"schedulesEnabled": False})
    assert off.outputs["autoAbort"] is True and {r.inputs["state"] for r in abort_rules(off)} == {"DISABLED"}


def test_the_rollback_dispatch_reads_its_token_from_secrets_manager() -> None:
    run = run_stack("prod", {"rollbackDispatchRepository": "acme/ensemble-forecast",
                             "rollbackDispatchTokenSecretArn": GITHUB_TOKEN_SECRET_ARN})
    assert GITHUB_TOKEN not in json.dumps([r.inputs for r in run]) + json.dumps(run.outputs)
    [connection] = run.of_type("aws:cloudwatch/eventConnection:EventConnection")
    # A Pulumi secret all the way: the recorded inputs (and so snapshots and previews) never show it.
    assert (connection.inputs["authorizationType"], connection.inputs["authParameters"]) == ("API_KEY", REDACTED)
    assert connection.raw_inputs["authParameters"]["apiKey"] == {"key": "Authorization",
                                                                 "value": f"Bearer {GITHUB_TOKEN}"}
    [destination] = run.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert (destination.inputs["invocationEndpoint"], destination.inputs["httpMethod"]) == (
        "https://api.github.com/repos/acme/ensemble-forecast/dispatches", "POST")
    target = run.named("abort-rollback-workflow-target").inputs
    assert target["rule"] == "ensemble-forecast-prod-auto-abort"
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/abort-events-role"
    body = target["inputTransformer"]["inputTemplate"].replace("<alarm>", '"x"').replace("<time>", '"t"')
    assert json.loads(body) == {"event_type": "rollback-required",
                                "client_payload": {"stack": "prod", "alarm": "x", "time": "t"}}
    [invoke] = [s for s in policy(run, "abort-events-role-policy") if s["Sid"] == "StartTheRollbackWorkflow"]
    assert (invoke["Action"], invoke["Resource"]) == (
        ["events:InvokeApiDestination"],
        f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/{destination.inputs['name']}")
