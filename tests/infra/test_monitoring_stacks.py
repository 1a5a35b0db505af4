"""Monitoring as each real stack declares it (``Pulumi.<stack>.yaml`` run under the mock harness)."""

from __future__ import annotations

import pytest

from infra.batch.schedules import RunWindow, max_run_gap_seconds, missed_run_window
from jobs.contract import metrics
from tests.support.stacks import ACCOUNT, STACKS, StackRun, run_stack

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
HOUR = 3_600
STACK = {  # horizons, job timeout, immediate e-mails
    "canary": (("1D",), 3_600, ["oncall@example.com"]),
    "limited": (("1D", "4h", "8h"), 3_600, ["oncall@example.com"]),
    "prod": (("1D", "4h", "8h"), 5_400, ["oncall@example.com", "devops@example.com"]),
}




def alarms_of(run: StackRun) -> dict[str, dict]:
    """Metric alarm inputs by alarm name."""
    return {r.inputs["name"]: r.inputs for r in run.of_type(ALARM)}


def topic(stack: str, kind: str) -> str:
    """The harness's ARN of a stack's topic."""
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:ensemble-forecast-{stack}-{kind}"


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_alarms_on_its_thresholds(stack_runs: dict[str, StackRun], stack: str) -> None:
    alarms = alarms_of(stack_runs[stack])
    horizons, _, _ = STACK[stack]
    want = {"divergence-warning": (0.2, "review"), "divergence-critical": (0.3, "immediate"),
            "rmse-vs-baseline": (0.05, "immediate"), "rollback-divergence": (0.25, None),
            "rollback-rmse": (0.1, None), "model-errors": (0, "review"), "pipeline-failures": (0, "immediate"),
            "data-incidents": (0, "review")}
    for h in horizons:
        for key, (threshold, kind) in want.items():
            a = alarms[f"ensemble-forecast-{stack}-{key}-{h}"]
            assert a["threshold"] == threshold, key
            assert a["comparisonOperator"] == "GreaterThanThreshold" and a["treatMissingData"] == "notBreaching"
            assert (a["period"], a["evaluationPeriods"]) == (HOUR, 1)
            assert a["alarmActions"] == ([topic(stack, kind)] if kind else [])
            assert a["dimensions"] == {metrics.DIM_STACK: stack, metrics.DIM_HORIZON: h}
        for key, comparison, threshold in (("coverage-low", "LessThanThreshold", 0.8),
                                           ("coverage-high", "GreaterThanThreshold", 0.98)):
            a = alarms[f"ensemble-forecast-{stack}-{key}-{h}"]
            assert (a["metricName"], a["statistic"], a["comparisonOperator"], a["threshold"]) == (
                metrics.INTERVAL_COVERAGE, "Average", comparison, threshold), key
            assert (a["period"], a["alarmActions"]) == (86_400, [topic(stack, "review")]), key
    storm = alarms[f"ensemble-forecast-{stack}-alert-storm"]
    assert (storm["threshold"], storm["period"], storm["alarmActions"]) == (5, HOUR, [topic(stack, "immediate")])
    # with three missed-run, two coverage and three data-incident (reported, count, share) alarms per horizon
    assert len(alarms) == 15 * len(horizons) + 1


# The run's grace: 3 attempts x the job timeout + 1 h of queueing (canary, limited 3600 s; prod 5400 s).
# 4h runs at 14:05 and 18:05 form one burst; 1D at 21:30 and 8h at 14:10 run alone each weekday.
# Owed window = burst span + grace + hold (hold = the grace, up to what the gap to the next burst allows).
GRACE = {"canary": 4 * HOUR, "limited": 4 * HOUR, "prod": 5.5 * HOUR}
OWED_WINDOW = {"canary": {"1D": 8 * HOUR}, "limited": {"1D": 8 * HOUR, "4h": 12 * HOUR, "8h": 8 * HOUR},
               "prod": {"1D": 11 * HOUR, "4h": 15 * HOUR, "8h": 11 * HOUR}}


@pytest.mark.parametrize("stack", STACKS)
def test_missed_run_alarms_wait_for_the_runs_grace(stack_runs: dict[str, StackRun], stack: str) -> None:
    alarms = alarms_of(stack_runs[stack])
    horizons, _, _ = STACK[stack]
    for h in horizons:
        periods = {k: {q["metric"]["period"] for q in alarms[f"ensemble-forecast-{stack}-{k}-{h}"]["metricQueries"]
                       if "metric" in q} for k in ("forecasts-owed", "run-in-progress", "runs-judged")}
        assert periods["run-in-progress"] == {GRACE[stack]}, h
        assert periods["forecasts-owed"] == {OWED_WINDOW[stack][h]}, h
        burst = 4 * HOUR if h == "4h" else 0
        assert periods["runs-judged"] == {OWED_WINDOW[stack][h] - burst}, h


def test_missed_run_window_arithmetic() -> None:
    weekdays = "cron(30 21 ? * MON-FRI *)"
    assert missed_run_window(weekdays, 4 * HOUR) == RunWindow(8 * HOUR, 8 * HOUR)
    assert missed_run_window("cron(5 14,18 ? * MON-FRI *)", 4 * HOUR) == RunWindow(12 * HOUR, 8 * HOUR)
    # The hold shrinks to what the gap to the next burst leaves: 24 h - (4 h burst + 11 h grace) = 9 h.
    assert missed_run_window("cron(5 14,18 ? * MON-FRI *)", 11 * HOUR) == RunWindow(24 * HOUR, 20 * HOUR)
    with pytest.raises(ValueError, match="never pauses for the run's grace"):
        missed_run_window("rate(1 hour)", 4 * HOUR)
    with pytest.raises(ValueError, match="would hold for 1800s, less than 3600s"):
        missed_run_window("cron(0 */4 ? * * *)", int(3.5 * HOUR))


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_has_topics_subscriptions_rollback_and_batch_failure_rule(
        stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    _, _, immediate = STACK[stack]
    subs = sorted((r.inputs["topic"], r.inputs["endpoint"]) for r in run.of_type(
        "aws:sns/topicSubscription:TopicSubscription"))
    assert subs == sorted([(topic(stack, "review"), "ml-team@example.com")]
                          + [(topic(stack, "immediate"), e) for e in immediate])
    comp = run.named("monitoring-rollback-required").inputs
    assert comp["alarmActions"] == [topic(stack, "immediate")] and comp["actionsEnabled"] is True
    assert "actionsSuppressor" not in comp, "no grace hides a failure or a storm"
    assert f'ALARM("ensemble-forecast-{stack}-rollback-divergence-1D")' in comp["alarmRule"]
    rule = run.named("monitoring-batch-failed").inputs
    assert rule["eventPattern"]["detail"] == {
        "status": ["FAILED"], "jobQueue": [f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/ensemble-forecast-{stack}"]}
    assert run.named("monitoring-batch-failed-target").inputs["arn"] == topic(stack, "immediate")
    policy = run.named("monitoring-immediate-policy").inputs["policy"]
    [events] = [s for s in policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/ensemble-forecast-{stack}-{r}" for r in ("auto-abort", "batch-failed")]
    assert all(r.inputs.get("tags", {}).get("stack") == stack
               for r in run if r.name.startswith("monitoring-") and r.type in (ALARM, "aws:sns/topic:Topic"))


def test_thresholds_come_from_the_stack_config() -> None:
    run = run_stack("canary", overrides={"divergenceWarningThreshold": 0.15, "divergenceCriticalThreshold": 0.35,
                                         "alertStormCount": 9, "rollbackDivergence": 0.3,
                                         "alertStormPeriodMinutes": 30})
    alarms = alarms_of(run)
    assert alarms["ensemble-forecast-canary-divergence-warning-1D"]["threshold"] == 0.15
    assert alarms["ensemble-forecast-canary-divergence-critical-1D"]["threshold"] == 0.35
    assert alarms["ensemble-forecast-canary-rollback-divergence-1D"]["threshold"] == 0.3
    storm = alarms["ensemble-forecast-canary-alert-storm"]
    assert (storm["threshold"], storm["period"]) == (9, 1_800)


@pytest.mark.parametrize(("expr", "hours"), [
    ("cron(30 21 ? * MON-FRI *)", 72), ("cron(5 14,18 ? * MON-FRI *)", 68), ("cron(0 */4 ? * * *)", 4),
    ("rate(6 hours)", 6), ("cron(0 9 ? * 2-6 *)", 72), ("cron(15 10 ? * * *)", 24)])
def test_max_run_gap(expr: str, hours: int) -> None:
    assert max_run_gap_seconds(expr) == hours * HOUR


@pytest.mark.parametrize("expr", ["cron(0 9 1 * ? *)", "rate(soon)", "at(2026-01-01T00:00:00)"])
def test_unsupported_schedules_are_refused(expr: str) -> None:
    with pytest.raises(ValueError, match="not supported"):
        max_run_gap_seconds(expr)


@pytest.mark.parametrize("stack", ["canary", "limited"])
def test_a_stack_with_schedules_off_has_no_alarm_actions(stack: str) -> None:
    run = run_stack(stack, overrides={"schedulesEnabled": False})
    alarms = run.of_type(ALARM) + run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    on = [r.name for r in alarms if r.inputs["actionsEnabled"] is not False]
    assert alarms and not on, f"{stack}: alarms with actions while the schedules are off: {on}"
    rules = run.of_type("aws:cloudwatch/eventRule:EventRule")
    # Schedules, the Batch failure rule and the automatic abort: nothing runs, nothing notifies.
    assert rules and {r.inputs["state"] for r in rules} == {"DISABLED"}, [r.name for r in rules]
