"""The automatic abort's documents as pure functions: its event pattern, the runbook's input and
its two least-privilege policies, so tests and reviewers read exactly what it matches and may do.

AWS documents the pieces: the "CloudWatch Alarm State Change" event (CloudWatch user guide,
"Alarm events and EventBridge"); the AWS-owned runbook ``AWS-DisableEventBridgeRule``
(parameters ``RuleName``, required; ``EventBusName``, default ``default``;
``AutomationAssumeRole``; the role needs ``ssm:StartAutomationExecution``,
``ssm:GetAutomationExecution`` and ``events:DisableRule``); and an SSM Automation target of an
EventBridge rule (Systems Manager user guide, "Run automations based on EventBridge events"):
target ARN ``arn:aws:ssm:<region>:<account>:automation-definition/<runbook>``, input
``{"<parameter>": ["<value>"], ...}``, and a role EventBridge assumes to start it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pulumi import Input, Output

RUNBOOK = "AWS-DisableEventBridgeRule"
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


def alarm_pattern(alarm_arn: str, alarm_name: str) -> dict[str, Any]:
    """Events of exactly this alarm entering ALARM (not a reason change while it stays in ALARM)."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": [ALARM_STATE_CHANGE],
        "resources": [alarm_arn],
        "detail": {"alarmName": [alarm_name], "state": {"value": ["ALARM"]},
                   "previousState": {"value": [{"anything-but": "ALARM"}]}},
    }


def runbook_arn(region: Input[str], account: Input[str], version: str = "$DEFAULT") -> Output[str]:
    """The runbook as an EventBridge target (``version`` ``*`` for the policy's resource)."""
    return Output.concat("arn:aws:ssm:", region, ":", account, ":automation-definition/", RUNBOOK, ":", version)


def runbook_input(rule_name: str, automation_role_arn: str) -> str:
    """The runbook's parameters for one schedule rule (each value a list, as SSM takes them)."""
    return json.dumps({"RuleName": [rule_name], "EventBusName": ["default"],
                       "AutomationAssumeRole": [automation_role_arn]}, sort_keys=True)


def automation_policy(rule_arns: Sequence[Input[str]], region: Input[str], account: Input[str]) -> dict[str, Any]:
    """What the runbook, running as this role, may do: disable exactly the stack's schedule rules.

    Plus the two SSM actions the runbook's documentation requires of its AutomationAssumeRole,
    limited to this runbook and this account's automation executions.
    """
    executions = Output.concat("arn:aws:ssm:", region, ":", account, ":automation-execution/*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DisableTheStacksSchedules", "Effect": "Allow", "Action": ["events:DisableRule"],
             "Resource": list(rule_arns)},
            {"Sid": "RunTheRunbook", "Effect": "Allow", "Action": ["ssm:StartAutomationExecution"],
             "Resource": runbook_arn(region, account, "*")},
            {"Sid": "ReadItsExecution", "Effect": "Allow", "Action": ["ssm:GetAutomationExecution"],
             "Resource": executions},
        ],
    }


def events_policy(region: Input[str], account: Input[str], automation_role_arn: Input[str],
                  destination_arn: Input[str] | None = None) -> dict[str, Any]:
    """What EventBridge may do for the abort rules: start the runbook, hand it its role, and
    (with a rollback dispatch) call the one API destination."""
    statements: list[dict[str, Any]] = [
        {"Sid": "StartTheRunbook", "Effect": "Allow", "Action": ["ssm:StartAutomationExecution"],
         "Resource": runbook_arn(region, account, "*")},
        {"Sid": "PassTheAutomationRole", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": automation_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}},
    ]
    if destination_arn is not None:
        statements.append({"Sid": "StartTheRollbackWorkflow", "Effect": "Allow",
                           "Action": ["events:InvokeApiDestination"], "Resource": destination_arn})
    return {"Version": "2012-10-17", "Statement": statements}
