"""Missed and partial runs alarm within one schedule interval plus the run's grace; weekends and holidays never do.

A fortnight of datapoints, Monday 12 to Sunday 25 January 2026, replayed through each stack's
own alarm definitions (recorded from the real stack files under Pulumi mocks) by the CloudWatch
evaluator of ``tests.support.cloudwatch``. The datapoints are what EventBridge and the job
publish: a schedule rule's ``TriggeredRules`` when it fires; per array child at its first
attempt, one ``ForecastsExpected`` datum of its tasks; per task, ``ForecastsWritten`` or
``ForecastsFailed``. Monday 19 is Martin Luther King Jr. Day (the exchange is closed): the
weekday schedule fires all the same and the job runs, or, in the other variant, nobody runs
anything that day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from infra import names
from jobs.contract import metrics
from tests.support.cloudwatch import ALARM, MetricAlarm, MetricStore, Replay, metric_key, replay
from tests.support.stacks import StackRun

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
START, END = datetime(2026, 1, 12, tzinfo=timezone.utc), datetime(2026, 1, 26, 12, tzinfo=timezone.utc)
# Horizon -> (hour, minute) of each weekday run: the stack files' schedules (checked below).
RUNS = {"1D": ((21, 30),), "4h": ((14, 5), (18, 5)), "8h": ((14, 10),)}
CRONS = {"1D": "cron(30 21 ? * MON-FRI *)", "4h": "cron(5 14,18 ? * MON-FRI *)", "8h": "cron(10 14 ? * MON-FRI *)"}
MISSED, PARTIAL, FAILED = datetime(2026, 1, 13), datetime(2026, 1, 15), datetime(2026, 1, 21)
RETRIED, QUEUED, HOLIDAY = datetime(2026, 1, 14), datetime(2026, 1, 20), datetime(2026, 1, 19)


@dataclass(frozen=True)
class Shape:
    """What a stack asks of one run: per job group, its rule and its children's task counts."""

    stack: str
    retries: int
    timeout: timedelta
    groups: tuple[tuple[str, tuple[int, ...]], ...]  # (group, tasks per array child)

    def rule(self, group: str, horizon: str) -> str:
        return names.job_name(self.stack, group, horizon)


def shape(run: StackRun, stack_file: dict[str, object]) -> Shape:
    per_task = int(stack_file["symbolsPerTask"])  # type: ignore[call-overload]
    groups = []
    for group, spec in run.outputs["jobGroups"].items():
        n = len(spec["symbols"])
        groups.append((group, tuple(min(per_task, n - i * per_task) for i in range(math.ceil(n / per_task)))))
    return Shape(run.outputs["rolloutPhase"], int(stack_file["retryAttempts"]),  # type: ignore[call-overload]
                 timedelta(seconds=int(stack_file["jobTimeoutSeconds"])), tuple(groups))  # type: ignore[call-overload]


def started(fired: datetime, kind: str) -> datetime:
    """When a run's children start (and declare their tasks): after queueing for Fargate capacity."""
    return fired + (55 if kind == "queued" else 4) * MINUTE


def publish_run(store: MetricStore, s: Shape, horizon: str, fired: datetime, kind: str) -> None:
    """One scheduled run of ``horizon`` as EventBridge and the job publish it."""
    dims = {metrics.DIM_STACK: s.stack, metrics.DIM_HORIZON: horizon}
    for group, children in s.groups:
        store.put(metric_key("AWS/Events", "TriggeredRules", {"RuleName": s.rule(group, horizon)}), fired, 1.0)
        if kind == "missed":  # submitted nowhere: the image cannot be pulled, the queue is stuck, ...
            continue
        for child, tasks in enumerate(children):
            if kind == "partial" and child == len(children) - 1:
                continue  # this array child never starts
            start = started(fired, kind)
            store.put(metric_key(metrics.NAMESPACE, metrics.FORECASTS_EXPECTED, dims), start, 1.0, tasks)
            # A retried child's first attempt ran into the timeout; its second attempt writes.
            finish = start + (s.timeout + 20 * MINUTE if kind == "retried" and child == 0 else 12 * MINUTE)
            for task in range(tasks):
                failed = kind == "failed" and child == 0 and task == 0
                metric = metrics.FORECASTS_FAILED if failed else metrics.FORECASTS_WRITTEN
                store.put(metric_key(metrics.NAMESPACE, metric, dims), finish + task * MINUTE, 1.0)
                if failed:  # code raised: the job also counts it as a pipeline failure
                    store.put(metric_key(metrics.NAMESPACE, metrics.PIPELINE_FAILURES, dims), finish, 1.0)


def fortnight(store: MetricStore, s: Shape, horizons: list[str], holiday_runs: bool) -> Iterator[tuple[str, datetime, str]]:
    """Publish the fortnight; yield every scheduled run as (horizon, time, kind)."""
    for day in (START + timedelta(days=d) for d in range(14)):
        if day.weekday() >= 5 or (day.date() == HOLIDAY.date() and not holiday_runs):
            continue
        for horizon in horizons:
            times = RUNS[horizon]
            for slot, (hour, minute) in enumerate(times):
                kind = {MISSED.date(): "missed" if slot == 0 else "normal",
                        PARTIAL.date(): "partial" if slot == len(times) - 1 else "normal",
                        RETRIED.date(): "retried", QUEUED.date(): "queued",
                        FAILED.date(): "failed" if slot == 0 else "normal"}.get(day.date(), "normal")
                fired = day.replace(hour=hour, minute=minute)
                publish_run(store, s, horizon, fired, kind)
                yield horizon, fired, kind


def replay_stack(run: StackRun, stack_file: dict[str, object], holiday_runs: bool = True
                 ) -> tuple[Shape, list[tuple[str, datetime, str]], Replay]:
    s = shape(run, stack_file)
    store = MetricStore()
    runs = list(fortnight(store, s, list(run.outputs["horizons"]), holiday_runs))
    alarms = [MetricAlarm(r.inputs["name"], r.inputs) for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    composites = {r.inputs["alarmName"]: r.inputs["alarmRule"]
                  for r in run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    return s, runs, replay(alarms, composites, store, START, END)


def grace(s: Shape) -> timedelta:
    """Every attempt up to its timeout, plus the hour a run may queue."""
    return s.retries * s.timeout + HOUR


def interval_after(horizon: str, fired: datetime) -> timedelta:
    """One schedule interval: the time to the horizon's next run."""
    times = [fired.replace(hour=h, minute=m) + timedelta(days=d) for d in range(4) for h, m in RUNS[horizon]]
    return min(t for t in times if t > fired and t.weekday() < 5) - fired


def test_the_stack_files_schedule_the_runs_replayed_here(stack_files: dict[str, dict[str, object]]) -> None:
    for stack, config in stack_files.items():
        for horizon, cron in config["schedules"].items():  # type: ignore[attr-defined]
            assert cron == CRONS[horizon], f"{stack} {horizon}: the replay's run times follow {CRONS[horizon]}"


@pytest.mark.parametrize("stack", ["canary", "limited", "prod"])
def test_a_fortnight_alarms_exactly_for_the_missed_and_the_partial_run(
        stack_runs: dict[str, StackRun], stack_files: dict[str, dict[str, object]], stack: str) -> None:
    s, runs, result = replay_stack(stack_runs[stack], stack_files[stack])
    for horizon in stack_runs[stack].outputs["horizons"]:
        missing = names.resource_name(stack, "forecasts-missing", horizon)
        intervals = result.alarm_intervals(missing, END)
        bad = [(fired, kind) for h, fired, kind in runs if h == horizon and kind in ("missed", "partial")]
        assert len(intervals) == len(bad) == 2, f"{missing}: ALARM {intervals} for the runs {bad}"
        for (begin, finish), (fired, kind) in zip(intervals, bad):
            # The burst of runs holding the bad one: the grace runs from its last firing or start.
            last = max(f if k == "missed" else started(f, k) for h, f, k in runs
                       if h == horizon and f.date() == fired.date() and (f == fired or f - fired <= grace(s)))
            assert begin == last + grace(s) + MINUTE, f"{missing}: {kind} run at {fired} alarmed at {begin}"
            # One interval, the grace, the minutes the run took to start, CloudWatch's minute step.
            bound = interval_after(horizon, fired) + grace(s) + (started(fired, kind) - fired) + MINUTE
            assert begin - fired <= bound, f"{missing}: {kind} run at {fired} alarmed after {begin - fired}"
            assert finish - begin >= HOUR, f"{missing}: ALARM for only {finish - begin}"
            assert finish.weekday() < 5 and finish < begin + timedelta(days=1)


@pytest.mark.parametrize("holiday_runs", [True, False], ids=["holiday-schedule-fires", "holiday-nothing-runs"])
def test_weekends_holidays_retries_queueing_and_failures_are_not_missing(
        stack_runs: dict[str, StackRun], stack_files: dict[str, dict[str, object]], holiday_runs: bool) -> None:
    run = stack_runs["limited"]
    s, runs, result = replay_stack(run, stack_files["limited"], holiday_runs)
    rollback = names.resource_name("limited", names.ROLLBACK_ALARM)
    quiet_days = {d.date() for d in (HOLIDAY, RETRIED, QUEUED, FAILED)} | {
        (START + timedelta(days=d)).date() for d in range(14) if (START + timedelta(days=d)).weekday() >= 5}
    for horizon in run.outputs["horizons"]:
        for begin, _ in result.alarm_intervals(names.resource_name("limited", "forecasts-missing", horizon), END):
            # An alarm begins on the day after a burst only for the missed Tuesday and the partial Thursday.
            assert (begin - grace(s) - MINUTE).date() not in quiet_days, f"{horizon}: alarm at {begin}"
    # A failed symbol is done (written + failed = expected): the failure alarm fires, the missing one does not.
    failed_at = [f for h, f, k in runs if k == "failed" and h == "1D"][0] + 4 * MINUTE + 12 * MINUTE
    failures = result.alarm_intervals(names.resource_name("limited", "pipeline-failures", "1D"), END)
    assert [b for b, _ in failures] == [failed_at + MINUTE]
    assert any(b <= failed_at + MINUTE < e for b, e in result.alarm_intervals(rollback, END))
    # Each run still in progress owes forecasts (no action), and is covered by its grace.
    owed = result.alarm_intervals(names.resource_name("limited", "forecasts-owed", "1D"), END)
    weekday_runs = [f for h, f, _ in runs if h == "1D"]
    assert len(owed) == len(weekday_runs) and all(b == f + MINUTE for (b, _), f in zip(owed, weekday_runs))


def test_the_owed_alarm_reads_what_the_schedules_ask_and_what_runs_declare(stack_runs: dict[str, StackRun]) -> None:
    alarms = {r.inputs["name"]: r.inputs for r in stack_runs["prod"].of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    owed = alarms["ensemble-forecast-prod-forecasts-owed-4h"]
    queries = {q["id"]: q for q in owed["metricQueries"]}
    core, high = len(stack_runs["prod"].outputs["jobGroups"]["core"]["symbols"]), len(
        stack_runs["prod"].outputs["jobGroups"]["high-value"]["symbols"])
    assert queries["due"]["expression"] == f"{core} * FILL(fired0, 0) + {high} * FILL(fired1, 0)"
    assert queries["owed"]["expression"] == "MAX([FILL(expected, 0), due]) - FILL(written, 0) - FILL(failed, 0)"
    assert [q["id"] for q in owed["metricQueries"] if q["returnData"]] == ["owed"]
    assert {q["metric"]["dimensions"].get("RuleName") for q in owed["metricQueries"] if "metric" in q} >= {
        "ensemble-forecast-prod-4h", "ensemble-forecast-prod-high-value-4h"}
    assert {q["metric"]["period"] for q in owed["metricQueries"] if "metric" in q} == {15 * 3_600}
    progress = alarms["ensemble-forecast-prod-run-in-progress-4h"]
    assert {q["metric"]["period"] for q in progress["metricQueries"] if "metric" in q} == {3 * 5_400 + 3_600}
    for alarm in (owed, progress):  # no calendar: CloudWatch cannot know holidays, so nothing guesses
        text = " ".join(q.get("expression", "") for q in alarm["metricQueries"])
        assert not any(f in text for f in ("DAY(", "HOUR(", "MINUTE(", "DATE(")), text
        assert alarm["treatMissingData"] == "notBreaching" and alarm["actionsEnabled"] is False
