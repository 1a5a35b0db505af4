"""The monitoring component under Pulumi mocks: alarms, topics, rollback composite, events, dashboard."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from infra.monitoring.alarms import alarm_specs, check_evaluation_window
from infra.monitoring.args import MonitoringArgs
from infra.monitoring.component import SUPPRESSOR_WAIT_SECONDS, Monitoring, topic_policy
from jobs.contract import metrics
from jobs.contract.thresholds import Thresholds

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_HORIZONS = {"canary": ("1D",), "limited": ("1D", "4h", "8h"), "prod": ("1D", "4h", "8h")}


@dataclass(frozen=True)
class Declared:
    """One resource the program declared: its URN, type, logical name and state (camelCase)."""

    urn: str
    type: str
    name: str
    state: dict[str, Any]

    @property
    def parent_type(self) -> str:
        """The type of the resource's parent, from the URN's type chain ('' at the top)."""
        chain = self.urn.split("::")[2].split("$")
        return chain[-2] if len(chain) > 1 else ""


class Recorder(pulumi.runtime.Mocks):
    """Mocks that give every resource a realistic ARN, as AWS would."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = state.get("name") or state.get("alarmName") or args.name
        service = {"aws:sns/topic:Topic": f"sns:{REGION}:{ACCOUNT}:{name}",
                   "aws:cloudwatch/metricAlarm:MetricAlarm": f"cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
                   "aws:cloudwatch/compositeAlarm:CompositeAlarm": f"cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
                   "aws:cloudwatch/eventRule:EventRule": f"events:{REGION}:{ACCOUNT}:rule/{name}"}.get(args.typ)
        if service:
            state["arn"] = f"arn:aws:{service}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def declare(args: MonitoringArgs) -> list[Declared]:
    """Run the component alone under mocks, watching the stack's queue; return every registered resource."""
    monitor = MockMonitor(Recorder())
    pulumi.runtime.set_mocks(monitor.mocks, project="ensemble-forecast", stack=args.stack, preview=False,
                             monitor=monitor)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        comp = Monitoring("monitoring", args, job_queue_arns=(queue_arn(args.stack),))
        return comp.dashboard.dashboard_body

    program()
    return [Declared(r.urn, r.urn.split("::")[2].split("$")[-1], r.urn.split("::")[-1], dict(r.state))
            for r in monitor.get_registered_resources().values()]


def stack_args(stack: str, **overrides: Any) -> MonitoringArgs:
    """The component's arguments as each stack passes them (thresholds from the rollout document)."""
    base: dict[str, Any] = dict(stack=stack, horizons=STACK_HORIZONS[stack], region=REGION,
                                review_emails=("ml-review@example.com",), immediate_emails=("oncall@example.com",))
    return MonitoringArgs(**{**base, **overrides})


def queue_arn(stack: str) -> str:
    """The stack's Batch job queue, whose FAILED jobs notify on-call."""
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{stack}"


def of_type(resources: list[Declared], typ: str) -> list[Declared]:
    """The declared resources of one type."""
    return [r for r in resources if r.type == typ]


def topic_arn(stack: str, kind: str) -> str:
    """The ARN the mocks give the stack's ``kind`` topic."""
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:ensemble-forecast-{stack}-{kind}"


# key -> metric, statistic, comparison, threshold, treat missing data, topic kind (None: no action).
EXPECTED = {
    "divergence-warning": (metrics.DIVERGENCE, "Maximum", "GreaterThanThreshold", 0.20, "notBreaching", "review"),
    "divergence-critical": (metrics.DIVERGENCE, "Maximum", "GreaterThanThreshold", 0.30, "notBreaching", "immediate"),
    "rmse-vs-baseline": (metrics.RMSE_VS_BASELINE, "Maximum", "GreaterThanThreshold", 0.05, "notBreaching", "immediate"),
    "model-errors": (metrics.MODEL_ERRORS, "Sum", "GreaterThanThreshold", 0.0, "notBreaching", "review"),
    "forecasts-failed": (metrics.FORECASTS_FAILED, "Sum", "GreaterThanThreshold", 0.0, "notBreaching", "immediate"),
    "forecasts-missing": (metrics.FORECASTS_WRITTEN, "Sum", "LessThanThreshold", 1.0, "breaching", None),
    "rollback-divergence": (metrics.SYMBOL_AVERAGE_DIVERGENCE, "Maximum", "GreaterThanThreshold", 0.25, "notBreaching",
                            None),
    "rollback-rmse": (metrics.RMSE_VS_BASELINE, "Average", "GreaterThanThreshold", 0.10, "notBreaching", None),
    # Calibration over a day's windows: the 90% interval covers too few or too many outcomes.
    "coverage-low": (metrics.INTERVAL_COVERAGE, "Average", "LessThanThreshold", 0.80, "notBreaching", "review"),
    "coverage-high": (metrics.INTERVAL_COVERAGE, "Average", "GreaterThanThreshold", 0.98, "notBreaching", "review"),
}
DAILY = {"coverage-low", "coverage-high"}


@pytest.fixture(scope="module", params=sorted(STACK_HORIZONS))
def declared(request: pytest.FixtureRequest) -> tuple[str, list[Declared]]:
    """Each stack's monitoring resources, declared once per module."""
    return request.param, declare(stack_args(request.param))


def test_every_child_is_parented_to_the_component(declared: tuple[str, list[Declared]]) -> None:
    _, resources = declared
    comps = [r for r in resources if r.type == "ensemble:monitoring:Monitoring"]
    assert len(comps) == 1
    children = [r for r in resources if r is not comps[0]]
    assert children and all(r.parent_type == "ensemble:monitoring:Monitoring" for r in children)


def test_horizon_alarms_thresholds_periods_missing_data_and_topics(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    alarms = {r.state["name"]: r.state for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    # EXPECTED and the schedule-idle alarm per horizon, plus the alert storm.
    assert len(alarms) == (len(EXPECTED) + 1) * len(STACK_HORIZONS[stack]) + 1
    for h in STACK_HORIZONS[stack]:
        for key, (metric, stat, comparison, threshold, missing, topic) in EXPECTED.items():
            a = alarms[f"ensemble-forecast-{stack}-{key}-{h}"]
            assert (a["namespace"], a["metricName"], a["statistic"]) == (metrics.NAMESPACE, metric, stat), key
            assert (a["comparisonOperator"], a["threshold"], a["treatMissingData"]) == (comparison, threshold,
                                                                                       missing), key
            assert a["dimensions"] == {"Stack": stack, "Horizon": h}
            assert a["alarmActions"] == ([topic_arn(stack, topic)] if topic else []), key
            expected_period = ({"1D": 86_400, "4h": 14_400, "8h": 28_800}[h] if key == "forecasts-missing"
                               else 86_400 if key in DAILY else 3_600)
            assert (a["period"], a["evaluationPeriods"]) == (expected_period, 1), key
            assert a["actionsEnabled"] is True, key
        idle = alarms[f"ensemble-forecast-{stack}-schedule-idle-{h}"]
        assert (idle["namespace"], idle["metricName"], idle["dimensions"]) == (
            "AWS/Events", "TriggeredRules", {"RuleName": f"ensemble-forecast-{stack}-{h}"})
        assert (idle["statistic"], idle["comparisonOperator"], idle["threshold"], idle["treatMissingData"]) == (
            "Sum", "LessThanThreshold", 1.0, "breaching")
        assert idle["period"] == alarms[f"ensemble-forecast-{stack}-forecasts-missing-{h}"]["period"]
        assert idle["alarmActions"] == []


def test_alert_storm_alarm(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    a = next(r.state for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")
             if r.state["name"] == f"ensemble-forecast-{stack}-alert-storm")
    assert (a["metricName"], a["dimensions"], a["statistic"]) == (metrics.CRITICAL_ALERTS, {"Stack": stack}, "Sum")
    assert (a["comparisonOperator"], a["threshold"], a["period"], a["evaluationPeriods"]) == (
        "GreaterThanThreshold", 5.0, 3600, 1)
    assert a["treatMissingData"] == "notBreaching" and a["alarmActions"] == [topic_arn(stack, "immediate")]


def test_rollback_composite_names_every_trigger(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    comps = {r.state["alarmName"]: r.state for r in of_type(resources, "aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    comp = comps[f"ensemble-forecast-{stack}-rollback-required"]
    names = {r.state["name"] for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    referenced = set(re.findall(r'(?<!NOT )ALARM\("([^"]+)"\)', comp["alarmRule"]))
    assert referenced <= names
    wanted = {f"ensemble-forecast-{stack}-{k}-{h}" for h in STACK_HORIZONS[stack]
              for k in ("rollback-divergence", "rollback-rmse", "forecasts-failed", "forecasts-missing")}
    assert referenced == wanted | {f"ensemble-forecast-{stack}-alert-storm"}
    for h in STACK_HORIZONS[stack]:  # missing forecasts count only while the schedule fires
        assert (f'(ALARM("ensemble-forecast-{stack}-forecasts-missing-{h}") AND '
                f'NOT ALARM("ensemble-forecast-{stack}-schedule-idle-{h}"))') in comp["alarmRule"]
    assert comp["alarmActions"] == [topic_arn(stack, "immediate")] and comp["actionsEnabled"] is True
    suppressor = comps[f"ensemble-forecast-{stack}-awaiting-schedule"]
    assert comp["actionsSuppressor"] == {"alarm": suppressor["alarmName"], "extensionPeriod": 3_600,
                                         "waitPeriod": SUPPRESSOR_WAIT_SECONDS}
    assert set(re.findall(r'ALARM\("([^"]+)"\)', suppressor["alarmRule"])) == {
        f"ensemble-forecast-{stack}-schedule-idle-{h}" for h in STACK_HORIZONS[stack]}
    assert suppressor["actionsEnabled"] is False and not suppressor.get("alarmActions")


def test_schedules_off_turns_every_alarm_action_off() -> None:
    resources = declare(stack_args("limited", schedules_enabled=False))
    alarms = of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm") + of_type(
        resources, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert alarms and all(a.state["actionsEnabled"] is False for a in alarms), [
        a.name for a in alarms if a.state["actionsEnabled"] is not False]


def test_batch_failures_reach_the_immediate_topic(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    (rule,) = of_type(resources, "aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.state["eventPattern"])
    assert pattern == {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
                       "detail": {"status": ["FAILED"], "jobQueue": [queue_arn(stack)]}}
    (target,) = of_type(resources, "aws:cloudwatch/eventTarget:EventTarget")
    assert target.state["arn"] == topic_arn(stack, "immediate") and target.state["rule"] == rule.state["name"]
    policies = {r.state["arn"]: json.loads(r.state["policy"]) for r in of_type(resources, "aws:sns/topicPolicy:TopicPolicy")}
    events = [s for s in policies[topic_arn(stack, "immediate")]["Statement"]
              if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert len(events) == 1 and events[0]["Action"] == "sns:Publish"
    assert events[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.state["arn"]}}
    # The review topic gets no event publisher, and nothing is granted to everyone.
    assert all(s["Principal"] != {"Service": "events.amazonaws.com"}
               for s in policies[topic_arn(stack, "review")]["Statement"])
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for p in policies.values() for s in p["Statement"])


def test_subscriptions_come_from_config(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    subs = {(r.state["topic"], r.state["endpoint"], r.state["protocol"])
            for r in of_type(resources, "aws:sns/topicSubscription:TopicSubscription")}
    assert subs == {(topic_arn(stack, "review"), "ml-review@example.com", "email"),
                    (topic_arn(stack, "immediate"), "oncall@example.com", "email")}


def test_dashboard_has_the_rollout_charts(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    (dash,) = of_type(resources, "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dash.state["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    for wanted in ("Divergence trends", "Overfitting alerts", "ensemble vs legacy baseline", "Window quality",
                   "Symbol health", "Forecast generation"):
        assert any(wanted in t for t in titles), wanted
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == (len(EXPECTED) + 1) * len(STACK_HORIZONS[stack]) + 3
    assert all(w["properties"].get("region", REGION) == REGION for w in body["widgets"])


def test_thresholds_follow_the_settings() -> None:
    specs = {s.key: s for s in alarm_specs(stack_args("canary", thresholds=Thresholds(
        divergence_warning=0.15, divergence_critical=0.4, alert_storm_count=9)))}
    assert specs["divergence-warning-1D"].threshold == 0.15 and specs["divergence-critical-1D"].threshold == 0.4
    assert specs["alert-storm"].threshold == 9.0


@pytest.mark.parametrize(("period", "evaluations", "ok"), [
    (3_600, 24, True), (3_600, 168, True), (3_600, 169, False), (300, 288, True), (300, 289, False),
    (86_400, 7, True), (86_400, 8, False), (90, 1, False), (60, 0, False)])
def test_evaluation_window_limits(period: int, evaluations: int, ok: bool) -> None:
    if ok:
        check_evaluation_window("x", period, evaluations)
    else:
        with pytest.raises(ValueError, match="alarm x"):
            check_evaluation_window("x", period, evaluations)


def test_a_run_interval_beyond_seven_days_is_refused() -> None:
    with pytest.raises(ValueError, match="forecasts-missing-1D"):
        alarm_specs(stack_args("canary", run_intervals={"1D": 8 * 86_400}))


def test_bad_args_are_refused() -> None:
    with pytest.raises(ValueError, match="DIVERGENCE_THRESHOLD=0.3 must be below DIVERGENCE_CRITICAL_THRESHOLD=0.2"):
        stack_args("canary", thresholds=Thresholds(divergence_warning=0.3, divergence_critical=0.2))
    with pytest.raises(ValueError, match="no entry for horizons 4h"):
        stack_args("canary", horizons=("1D", "4h"), run_intervals={"1D": 86_400})
    with pytest.raises(ValueError, match="topic ARN"):
        topic_policy("not-an-arn", "p")
