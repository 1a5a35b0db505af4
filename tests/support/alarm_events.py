"""CloudWatch alarm state-change events, delivered through EventBridge rules as AWS documents them.

``alarm_state_change`` is the user guide's sample "CloudWatch Alarm State Change" event (CloudWatch
user guide, "Alarm events and EventBridge", the metric math alarm's sample: same envelope and
``detail`` fields), with the alarm's name, ARN, account, region and states put in. ``matching_rules``
matches an event against rules' patterns with moto's own EventBridge pattern matcher
(``moto.events.models.EventPattern``). ``run_runbook`` does what the AWS-owned runbook
``AWS-DisableEventBridgeRule`` does with a target's input: ``DisableRule`` on its ``RuleName``
(and ``EventBusName``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from moto.events.models import EventPattern

RUNBOOK = "AWS-DisableEventBridgeRule"


def alarm_state_change(alarm_name: str, alarm_arn: str, state: str = "ALARM", previous: str = "OK",
                       time: str = "2026-01-28T09:14:40Z") -> dict[str, Any]:
    """The documented sample event, for ``alarm_name`` changing from ``previous`` to ``state``."""
    _, partition, _, region, account, _ = alarm_arn.split(":", 5)
    stamp = time.replace("Z", ".554+0000")
    return {
        "version": "0",
        "id": "2dde0eb1-528b-d2d5-9ca6-6d590caf2329",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": time,
        "region": region,
        "resources": [alarm_arn],
        "detail": {
            "alarmName": alarm_name,
            "configuration": {"description": f"{alarm_name} (partition {partition})", "metrics": []},
            "previousState": {"reason": "Unchecked: Initial alarm creation", "timestamp": stamp, "value": previous},
            "state": {"reason": "Threshold Crossed: 1 out of the last 1 datapoints was greater than the threshold",
                      "reasonData": json.dumps({"version": "1.0", "queryDate": stamp}), "timestamp": stamp,
                      "value": state},
        },
    }


def matches(pattern: str | Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern`` (moto's matcher)."""
    raw = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return EventPattern.load(raw).matches_event(dict(event))


def matching_rules(events: Any, event: Mapping[str, Any]) -> list[str]:
    """The ENABLED rules of the default bus (a boto3 ``events`` client) that ``event`` matches."""
    rules = events.list_rules()["Rules"]
    return [r["Name"] for r in rules if r.get("EventPattern") and r["State"] == "ENABLED"
            and matches(r["EventPattern"], event)]


def run_runbook(events: Any, targets: Iterable[Mapping[str, Any]]) -> list[str]:
    """The runbook's effect for each SSM Automation target of it: the rules it disables."""
    disabled = []
    for target in targets:
        if not target["Arn"].split("automation-definition/")[-1].startswith(f"{RUNBOOK}:"):
            continue
        parameters = json.loads(target["Input"])
        [rule], [bus] = parameters["RuleName"], parameters.get("EventBusName", ["default"])
        events.disable_rule(Name=rule, EventBusName=bus)
        disabled.append(rule)
    return disabled
