"""The monitoring component under Pulumi mocks: alarms, topics, rollback composite, events, dashboard."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from infra.batch.schedules import RunWindow
from infra.monitoring.alarms import alarm_specs, check_evaluation_window
from infra.monitoring.args import MonitoringArgs
from infra.monitoring.component import Monitoring, topic_policy
from infra.monitoring.runs import all_run_alarm_specs
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


def declare(args: MonitoringArgs, notify_rules: tuple[str, ...] = ()) -> list[Declared]:
    """Run the component alone under mocks, watching the stack's queue; return every registered resource."""
    monitor = MockMonitor(Recorder())
    pulumi.runtime.set_mocks(monitor.mocks, project="ensemble-forecast", stack=args.stack, preview=False,
                             monitor=monitor)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        comp = Monitoring("monitoring", args, job_queue_arns=(queue_arn(args.stack),), notify_rules=notify_rules)
        return comp.dashboard.dashboard_body

    program()
    return [Declared(r.urn, r.urn.split("::")[2].split("$")[-1], r.urn.split("::")[-1], dict(r.state))
            for r in monitor.get_registered_resources().values()]


def stack_args(stack: str, **overrides: Any) -> MonitoringArgs:
    """The component's arguments as each stack passes them (thresholds from the rollout document)."""
    horizons = overrides.get("horizons", STACK_HORIZONS[stack])
    base: dict[str, Any] = dict(stack=stack, horizons=horizons, region=REGION,
                                review_emails=("ml-review@example.com",), immediate_emails=("oncall@example.com",),
                                expected_tasks={h: ((f"ensemble-forecast-{stack}-{h}", 3),) for h in horizons})
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
    "pipeline-failures": (metrics.PIPELINE_FAILURES, "Sum", "GreaterThanThreshold", 0.0, "notBreaching", "immediate"),
    "data-incidents": (metrics.DATA_INCIDENTS, "Sum", "GreaterThanThreshold", 0.0, "notBreaching", "review"),
    "data-incidents-count": (metrics.DATA_INCIDENTS, "Sum", "GreaterThanThreshold", 2.0, "notBreaching", None),
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
    # EXPECTED, the three missed-run alarms and the data-incident share per horizon, plus the alert storm.
    assert len(alarms) == (len(EXPECTED) + 4) * len(STACK_HORIZONS[stack]) + 1
    for h in STACK_HORIZONS[stack]:
        for key, (metric, stat, comparison, threshold, missing, topic) in EXPECTED.items():
            a = alarms[f"ensemble-forecast-{stack}-{key}-{h}"]
            assert (a["namespace"], a["metricName"], a["statistic"]) == (metrics.NAMESPACE, metric, stat), key
            assert (a["comparisonOperator"], a["threshold"], a["treatMissingData"]) == (comparison, threshold,
                                                                                       missing), key
            assert a["dimensions"] == {"Stack": stack, "Horizon": h}
            assert a["alarmActions"] == ([topic_arn(stack, topic)] if topic else []), key
            assert (a["period"], a["evaluationPeriods"]) == (86_400 if key in DAILY else 3_600, 1), key
            assert a["actionsEnabled"] is True, key


def test_missed_run_alarms_read_the_schedule_and_the_job(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    alarms = {r.state["name"]: r.state for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    comps = {r.state["alarmName"]: r.state for r in of_type(resources, "aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    for h in STACK_HORIZONS[stack]:
        name = f"ensemble-forecast-{stack}-{{}}-{h}".format
        owed, progress, judged = alarms[name("forecasts-owed")], alarms[name("run-in-progress")], alarms[name("runs-judged")]
        metrics_of = {a: {q["id"]: (q["metric"]["namespace"], q["metric"]["metricName"], q["metric"]["dimensions"],
                                    q["metric"]["stat"], q["metric"]["period"])
                          for q in alarms[a]["metricQueries"] if "metric" in q} for a in (owed["name"], judged["name"])}
        window = {"1D": 28_800, "4h": 43_200, "8h": 28_800}[h]
        assert metrics_of[owed["name"]] == {
            "fired0": ("AWS/Events", "TriggeredRules", {"RuleName": f"ensemble-forecast-{stack}-{h}"}, "Sum", window),
            **{k: (metrics.NAMESPACE, m, {"Stack": stack, "Horizon": h}, "Sum", window) for k, m in (
                ("expected", metrics.FORECASTS_EXPECTED), ("written", metrics.FORECASTS_WRITTEN),
                ("failed", metrics.FORECASTS_FAILED))}}
        assert set(metrics_of[judged["name"]]) == {"fired0"}
        assert {q["metric"]["period"] for q in progress["metricQueries"] if "metric" in q} == {4 * 3_600}
        for a in (owed, progress, judged):
            assert (a["comparisonOperator"], a["threshold"], a["treatMissingData"]) == (
                "GreaterThanThreshold", 0.0, "notBreaching"), a["name"]
            assert a["actionsEnabled"] is False and not a.get("alarmActions"), a["name"]
            assert [q["id"] for q in a["metricQueries"] if q["returnData"]] == [a["metricQueries"][-1]["id"]]
        missing = comps[name("forecasts-missing")]
        assert missing["alarmRule"] == (f'ALARM("{owed["name"]}") AND ALARM("{judged["name"]}") '
                                        f'AND NOT ALARM("{progress["name"]}")')
        assert missing["actionsEnabled"] is False and not missing.get("alarmActions")


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
    names = {r.state["name"] for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")} | set(comps)
    referenced = set(re.findall(r'ALARM\("([^"]+)"\)', comp["alarmRule"]))
    assert referenced <= names and "NOT" not in comp["alarmRule"] and " AND " not in comp["alarmRule"]
    wanted = {f"ensemble-forecast-{stack}-{k}-{h}" for h in STACK_HORIZONS[stack]
              for k in ("rollback-divergence", "rollback-rmse", "pipeline-failures", "forecasts-missing",
                        "data-incidents-systemic")}
    assert referenced == wanted | {f"ensemble-forecast-{stack}-alert-storm"}
    assert comp["alarmActions"] == [topic_arn(stack, "immediate")] and comp["actionsEnabled"] is True
    # No actions suppressor: no alarm can fire before its horizon runs, and a missing forecast
    # waits for its own horizon's grace only (a failure or a storm on a healthy horizon pages at once).
    assert "actionsSuppressor" not in comp


def test_schedules_off_turns_every_alarm_action_off() -> None:
    resources = declare(stack_args("limited", schedules_enabled=False))
    alarms = of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm") + of_type(
        resources, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert alarms and all(a.state["actionsEnabled"] is False for a in alarms), [
        a.name for a in alarms if a.state["actionsEnabled"] is not False]
    (rule,) = of_type(resources, "aws:cloudwatch/eventRule:EventRule")
    assert rule.state["state"] == "DISABLED", "the Batch failure rule must not notify while the schedules are off"


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
    assert events[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": [rule.state["arn"]]}}
    assert rule.state["state"] == "ENABLED"
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
    # EXPECTED, the four missed-run alarms and the data-incident share and systemic composite per
    # horizon, the alert storm and the rollback composite.
    assert len(alarm_widget["properties"]["alarms"]) == (len(EXPECTED) + 6) * len(STACK_HORIZONS[stack]) + 2
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


def test_a_window_beyond_seven_days_is_refused() -> None:
    with pytest.raises(ValueError, match="forecasts-owed-1D"):
        all_run_alarm_specs(stack_args("canary", run_windows={"1D": RunWindow(8 * 86_400, 86_400)}))


def test_the_abort_rule_may_publish_to_the_immediate_topic_only() -> None:
    resources = declare(stack_args("canary"), notify_rules=("ensemble-forecast-canary-auto-abort",))
    policies = {r.state["arn"]: json.loads(r.state["policy"]) for r in of_type(resources, "aws:sns/topicPolicy:TopicPolicy")}
    [events] = [s for s in policies[topic_arn("canary", "immediate")]["Statement"]
                if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ensemble-forecast-canary-auto-abort",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ensemble-forecast-canary-batch-failed"]
    assert all(s["Principal"] != {"Service": "events.amazonaws.com"}
               for s in policies[topic_arn("canary", "review")]["Statement"])


def test_bad_args_are_refused() -> None:
    with pytest.raises(ValueError, match="DIVERGENCE_THRESHOLD=0.3 must be below DIVERGENCE_CRITICAL_THRESHOLD=0.2"):
        stack_args("canary", thresholds=Thresholds(divergence_warning=0.3, divergence_critical=0.2))
    with pytest.raises(ValueError, match="run_windows has no entry for horizons 4h"):
        stack_args("canary", horizons=("1D", "4h"), run_windows={"1D": RunWindow(28_800, 28_800)})
    with pytest.raises(ValueError, match="expected_tasks has no entry for horizons 1D"):
        stack_args("canary", expected_tasks={})
    with pytest.raises(ValueError, match="topic ARN"):
        topic_policy("not-an-arn", "p")


def test_a_systemic_data_outage_is_the_share_and_the_count_of_refused_tasks(declared: tuple[str, list[Declared]]) -> None:
    stack, resources = declared
    alarms = {r.state["name"]: r.state for r in of_type(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    comps = {r.state["alarmName"]: r.state for r in of_type(resources, "aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    for h in STACK_HORIZONS[stack]:
        name = f"ensemble-forecast-{stack}-{{}}-{h}".format
        share = alarms[name("data-incidents-share")]
        read = {q["id"]: (q["metric"]["metricName"], q["metric"]["dimensions"], q["metric"]["stat"])
                for q in share["metricQueries"] if "metric" in q}
        dims = {"Stack": stack, "Horizon": h}
        assert read == {"incidents": (metrics.DATA_INCIDENTS, dims, "Sum"), "expected": (metrics.FORECASTS_EXPECTED, dims, "Sum"),
                        "quarantined": (metrics.QUARANTINED_TASKS, dims, "Sum")}, share["name"]
        [returned] = [q for q in share["metricQueries"] if q.get("returnData")]
        assert returned["expression"] == "FILL(incidents, 0) / (FILL(expected, 0) - FILL(quarantined, 0))", share["name"]
        assert (share["comparisonOperator"], share["threshold"]) == ("GreaterThanThreshold", 0.25), share["name"]
        assert share["actionsEnabled"] is False and not share.get("alarmActions"), share["name"]
        systemic = comps[name("data-incidents-systemic")]
        assert systemic["alarmRule"] == f'ALARM("{name("data-incidents-share")}") AND ALARM("{name("data-incidents-count")}")'
        assert systemic["actionsEnabled"] is False, systemic["alarmName"]
