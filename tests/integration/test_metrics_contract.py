"""Contract: what the stacks watch is what the job publishes, and the alarms fire when they should.

The real job runs with the environment each stack renders into its job definitions, against
moto's CloudWatch (fake credentials and region). Every alarm and every dashboard metric the
stack declares must name a namespace, metric and exact dimension set that the job published.
Then crafted runs, published by the real publisher, cross each threshold (or stay just
below it), and each declared alarm's statistic, comparison, threshold, period and
missing-data rule is evaluated against ``get_metric_data`` of the published datapoints.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from jobs.contract import metrics
from jobs.contract.config import JobConfig
from jobs.forecasting.results import SymbolOutcome
from jobs.monitoring import publisher
from jobs.rollout.checks import phase_coverage
from jobs.rollout.review import review
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.support.cloudwatch import ALARM as IN_ALARM
from tests.support.cloudwatch import OK, MetricAlarm, MetricStore, composite_holds
from tests.support.fixtures import ANY_AGE
from tests.support.stacks import STACKS, StackRun
from tests.unit.test_metrics import failed, outcome

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LEGACY = {"BASELINE_MODELS": "LSTM,ARIMA_GARCH,GB,RF"}
# The names, units and dimensions the job publishes do not depend on how many windows it scores:
# two walk-forward windows instead of the stacks' ten fit each real model 3 times per
# symbol-horizon instead of 11. The rest of each job definition's environment is the stack's.
TWO_WINDOWS = {"WALK_FORWARD_WINDOWS": "2"}
Metric = tuple[str, str, frozenset[tuple[str, str]]]




@pytest.fixture()
def cloudwatch(fake_aws: None) -> Any:
    """A CloudWatch client served by moto."""
    return boto3.client("cloudwatch", region_name="us-east-1")


def core_job_definitions(run: StackRun) -> list[tuple[list[str], dict[str, str]]]:
    """(command, environment) of each core job definition, exactly as the stack renders them."""
    out = []
    for jd in run.of_type("aws:batch/jobDefinition:JobDefinition"):
        if jd.name.startswith("forecast-core-"):
            props = jd.inputs["containerProperties"]
            out.append((list(props["command"]), {e["name"]: e["value"] for e in props["environment"]}))
    return out


def run_job_as_stack(run: StackRun, url: str, extra_env: dict[str, str]) -> str:
    """Run the real job once per core job definition (first symbol only, to stay fast) on migrated ``url``."""
    # Deployed phases never migrate (the stack does): ``url`` is a copy of the migrated template.
    symbol, run_id = run.outputs["jobGroups"]["core"]["symbols"][0], f"contract-{uuid.uuid4().hex[:10]}"
    seed_sample_bars(url, [symbol], ["1d", "1h"])
    for command, env in core_job_definitions(run):
        # One run id per job definition, as Batch gives each scheduled job its own (its first
        # attempt declares ForecastsExpected: a run id that wrote nothing yet).
        argv = [*command, "--symbols", symbol, "--workers", "1", "--run-id", f"{run_id}-{command[-1]}"]
        assert main(argv, {**env, **extra_env, **ANY_AGE, "DATABASE_URL": url}) == 0
    return url


def published(client: Any) -> set[Metric]:
    """Every (namespace, metric, exact dimension set) present in CloudWatch."""
    pages = client.get_paginator("list_metrics").paginate()
    return {(x["Namespace"], x["MetricName"], frozenset((d["Name"], d["Value"]) for d in x["Dimensions"]))
            for page in pages for x in page["Metrics"]}


def alarm_metrics(a: dict[str, Any]) -> list[Metric]:
    """What a declared alarm watches: its metric, or each metric its math reads."""
    if "metricQueries" not in a:
        return [(a["namespace"], a["metricName"], frozenset(a["dimensions"].items()))]
    return [(q["metric"]["namespace"], q["metric"]["metricName"], frozenset(q["metric"]["dimensions"].items()))
            for q in a["metricQueries"] if "metric" in q]


def job_alarms(run: StackRun) -> list[dict[str, Any]]:
    """The declared alarms that read what the job publishes (the missed-run ones also read EventBridge's)."""
    return [r.inputs for r in run.of_type(ALARM) if any(m[0] == metrics.NAMESPACE for m in alarm_metrics(r.inputs))]


def widget_metrics(body: dict[str, Any]) -> tuple[list[Metric], list[tuple[str, str, frozenset[str], str]]]:
    """Explicit metrics and SEARCH expressions (namespace, metric, dimension names, Stack) of a dashboard."""
    explicit, searches = [], []
    for w in body["widgets"]:
        for row in w["properties"].get("metrics", []):
            if isinstance(row[0], str):
                pairs = [x for x in row[2:] if isinstance(x, str)]
                explicit.append((row[0], row[1], frozenset(zip(pairs[::2], pairs[1::2]))))
            elif "SEARCH(" in row[0].get("expression", ""):
                found = re.search(r"\{([^}]*)\} MetricName=\"(\w+)\" Stack=\"([\w-]+)\"", row[0]["expression"])
                assert found, row[0]["expression"]
                ns, *dims = found.group(1).split(",")
                searches.append((ns, found.group(2), frozenset(dims), found.group(3)))
    return explicit, searches


def breaches(client: Any, a: dict[str, Any]) -> bool:
    """Whether the alarm's condition holds now, from the published datapoints.

    One evaluation period of the alarm's statistic over exactly its dimensions; no datapoint
    at all is judged by ``treatMissingData`` as CloudWatch does. A metric-math alarm is
    evaluated by ``tests.support.cloudwatch`` on each metric's sum over its period.
    """
    if a["evaluationPeriods"] != 1:
        raise ValueError("this evaluator handles single-period alarms only")
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    if "metricQueries" in a:
        alarm, store = MetricAlarm(a["name"], a), MetricStore()
        for key, stat in alarm.metrics().values():
            namespace, name, dims = key
            query = {"Id": "a", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name,
                           "Dimensions": [{"Name": k, "Value": v} for k, v in dims]},
                "Period": alarm.period, "Stat": stat}}
            values = client.get_metric_data(MetricDataQueries=[query], StartTime=now - timedelta(seconds=alarm.period),
                                            EndTime=now)["MetricDataResults"][0]["Values"]
            if values:  # a sum over the alarm's one period: one datapoint inside it holds it exactly
                store.put(key, now - timedelta(seconds=1), float(values[0]))
        return alarm.evaluate(store, now.timestamp()) == IN_ALARM
    query = {"Id": "a", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": a["namespace"], "MetricName": a["metricName"],
                   "Dimensions": [{"Name": k, "Value": v} for k, v in a["dimensions"].items()]},
        "Period": a["period"], "Stat": a["statistic"]}}
    values = client.get_metric_data(MetricDataQueries=[query], StartTime=now - timedelta(seconds=a["period"]),
                                    EndTime=now)["MetricDataResults"][0]["Values"]
    if not values:
        return {"breaching": True, "notBreaching": False}[a["treatMissingData"]]
    op = {"GreaterThanThreshold": float.__gt__, "LessThanThreshold": float.__lt__,
          "GreaterThanOrEqualToThreshold": float.__ge__, "LessThanOrEqualToThreshold": float.__le__}
    return op[a["comparisonOperator"]](float(values[0]), float(a["threshold"]))


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_and_widget_watches_what_the_job_publishes(
        stack_runs: dict[str, StackRun], stack: str, cloudwatch: Any, db_url: str) -> None:
    run = stack_runs[stack]
    url = run_job_as_stack(run, db_url, {**LEGACY, **TWO_WINDOWS})
    have = published(cloudwatch)
    # The job's metrics; the missed-run alarms also read EventBridge's own AWS/Events TriggeredRules.
    alarms = job_alarms(run)
    assert {m[0] for r in run.of_type(ALARM) for m in alarm_metrics(r.inputs)} == {metrics.NAMESPACE, "AWS/Events"}
    assert alarms and [(a["name"], m) for a in alarms for m in alarm_metrics(a)
                       if m[0] == metrics.NAMESPACE and m not in have] == []
    (dash,) = run.of_type("aws:cloudwatch/dashboard:Dashboard")
    explicit, searches = widget_metrics(dash.inputs["dashboardBody"])
    assert explicit and [x for x in explicit if x not in have] == []
    for ns, name, dim_names, stack_value in searches:
        assert any(ns == p[0] and name == p[1] and {k for k, _ in p[2]} == dim_names
                   and (metrics.DIM_STACK, stack_value) in p[2] for p in have), name
    # A healthy run: no error alarm fires and nothing is owed, every declared task written (divergence
    # depends on the models). The real job declared its tasks (ForecastsExpected) and wrote each.
    health = ("model-errors", "pipeline-failures", "data-incidents", "forecasts-owed")
    assert any("forecasts-owed" in a["name"] for a in alarms)
    assert [a["name"] for a in alarms if any(k in a["name"] for k in health) and breaches(cloudwatch, a)] == []
    # The same windows' interval coverage reaches the review, which judges the phase on it.
    cfg = JobConfig.from_env(core_job_definitions(run)[0][1])
    result, _ = review(url, cfg.rollout_phase, 1, cfg.thresholds, require_baseline=False)
    coverage, windows = phase_coverage(result.stats)
    assert coverage is not None and windows == sum(s.windows for s in result.stats) > 0
    assert f"of {windows} windows" in next(c for c in result.checks if c.name == "coverage").summary


def test_canary_job_environment_alone_feeds_the_baseline_alarms(
        stack_runs: dict[str, StackRun], cloudwatch: Any, db_url: str) -> None:
    run_job_as_stack(stack_runs["canary"], db_url, TWO_WINDOWS)
    have = published(cloudwatch)
    assert all(m in have for a in job_alarms(stack_runs["canary"]) for m in alarm_metrics(a)
               if m[0] == metrics.NAMESPACE)


# Scenario -> (outcomes per horizon, alarm keys that must fire; every other alarm must not).
SCENARIOS: dict[str, tuple[Any, set[str]]] = {
    "just below every threshold": (lambda h: [
        outcome("AAPL", [0.199, 0.18], horizon=h, test=0.01049, baseline_test=0.01),
        outcome("MSFT", [0.1], horizon=h, test=0.0100, baseline_test=0.01)], set()),
    # The worst symbol escalates ("Max RMSE increase > 5%"), though the mean (3.5%) is below 5%.
    "one symbol's RMSE escalates": (lambda h: [
        outcome("AAPL", [0.05], horizon=h, test=0.0107, baseline_test=0.01),
        outcome("MSFT", [0.05], horizon=h, test=0.0100, baseline_test=0.01)], {"rmse-vs-baseline"}),
    "warning only": (lambda h: [outcome("AAPL", [0.21, 0.05], horizon=h, test=0.0101, baseline_test=0.01)],
                     {"divergence-warning"}),
    "critical, escalate and rollback": (lambda h: [
        outcome("AAPL", [0.31, 0.27], horizon=h, test=0.0111, baseline_test=0.01),
        outcome("MSFT", [0.05], horizon=h, test=0.0111, baseline_test=0.01)],
        {"divergence-warning", "divergence-critical", "rmse-vs-baseline", "rollback-divergence", "rollback-rmse"}),
    # One critical event per horizon each: below the storm count even with three horizons.
    "model error": (lambda h: [outcome("AAPL", [0.05], horizon=h, errors=1)], {"model-errors"}),
    "failed forecast": (lambda h: [outcome("AAPL", [0.05], horizon=h), failed("MSFT", h)], {"pipeline-failures"}),
    # A refused input is the data team's: the review topic's alarm only, nothing that rolls back.
    "one data incident": (lambda h: [outcome("AAPL", [0.05], horizon=h), refused("MSFT", h)], {"data-incidents"}),
    # Two of four declared tasks refused: half the run, but fewer than the minimum count (3).
    "data incidents below the count": (lambda h: [outcome("AAPL", [0.05], horizon=h), outcome("MSFT", [0.05], horizon=h),
                                                  refused("SPY", h), refused("NVDA", h)],
                                       {"data-incidents", "data-incidents-share", "run-in-progress"}),
    # Three of four declared tasks refused (75% > 25%, 3 >= 3): the systemic outage's two halves.
    "systemic data outage": (lambda h: [outcome("AAPL", [0.05], horizon=h), refused("MSFT", h), refused("SPY", h),
                                        refused("NVDA", h)],
                             {"data-incidents", "data-incidents-count", "data-incidents-share", "run-in-progress"}),
    # Six critical symbol-horizons (more than 5) in one run is a storm, at any horizon count.
    "alert storm": (lambda h: [outcome(s, [0.35, 0.4], horizon=h) for s in ("AAPL", "MSFT", "SPY", "NVDA", "GOOGL", "AMZN")],
                    {"divergence-warning", "divergence-critical", "rollback-divergence", "alert-storm"}),
    # Many critical windows on one symbol are one alert per horizon (at most 3): no storm.
    "critical windows on one symbol": (lambda h: [outcome("AAPL", [0.31, 0.35, 0.4, 0.5, 0.6, 0.7], horizon=h)],
                                       {"divergence-warning", "divergence-critical", "rollback-divergence"}),
    # Nothing fired and nothing declared: nothing is owed (a missed scheduled run: tests/infra/test_missed_runs.py).
    "no run at all": (lambda h: [], set()),
    # A run declared its tasks and wrote none of them yet: owed, and a run is in progress.
    "declared, nothing written": (lambda h: [], {"forecasts-owed", "run-in-progress"}),
    # Calibration: the day's windows average exactly 80% or 98% coverage (on a bound, not beyond it).
    "coverage on the low bound": (lambda h: [outcome("AAPL", [0.05, 0.05], horizon=h, coverage=0.8)], set()),
    "coverage on the high bound": (lambda h: [outcome("AAPL", [0.05, 0.05], horizon=h, coverage=0.98)], set()),
    # The day's average decides: MSFT alone is fine, AAPL's two windows pull the average to 78%.
    "coverage too low": (lambda h: [outcome("AAPL", [0.05, 0.05], horizon=h, coverage=0.7),
                                    outcome("MSFT", [0.05], horizon=h, coverage=0.95)], {"coverage-low"}),
    "coverage too high": (lambda h: [outcome("AAPL", [0.05], horizon=h, coverage=1.0)], {"coverage-high"}),
}


# Scenarios whose run declared its tasks (ForecastsExpected) first, as the job's first attempt does.
DECLARED = {"declared, nothing written": ("AAPL", "MSFT"), "data incidents below the count": ("AAPL", "MSFT", "SPY", "NVDA"),
            "systemic data outage": ("AAPL", "MSFT", "SPY", "NVDA")}


def refused(symbol: str, horizon: str) -> SymbolOutcome:
    """A symbol-horizon whose input was refused: a data incident (its rows committed)."""
    return replace(failed(symbol, horizon), error="stale: last bar 9 sessions before the run", failure_class="data",
                   cause="stale")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("stack", STACKS)
def test_alarm_conditions_from_published_datapoints(
        stack_runs: dict[str, StackRun], stack: str, scenario: str, cloudwatch: Any) -> None:
    run = stack_runs[stack]
    make, firing = SCENARIOS[scenario]
    (_, env), *_ = core_job_definitions(run)
    cfg = JobConfig.from_env({**env, **LEGACY})
    horizons = run.outputs["horizons"]
    outcomes = [o for h in horizons for o in make(h)]
    if outcomes:
        assert publisher.RunPublisher(cfg, f"scenario-{stack}", cloudwatch)(outcomes) > 0
    if scenario in DECLARED:
        tasks = [(s, h) for h in horizons for s in DECLARED[scenario]]
        assert publisher.RunPublisher(cfg, f"scenario-{stack}", cloudwatch).expected(tasks) > 0
    fired = {a["name"] for a in job_alarms(run) if breaches(cloudwatch, a)}
    prefix = f"ensemble-forecast-{stack}-"
    expected = {prefix + k for k in firing if k == "alert-storm"}
    expected |= {f"{prefix}{k}-{h}" for k in firing if k != "alert-storm" for h in horizons}
    assert fired == expected


# Data incidents roll the phase back only when systemic; a pipeline failure always does.
ROLLS_BACK = {"one data incident": False, "data incidents below the count": False, "systemic data outage": True,
              "failed forecast": True}


@pytest.mark.parametrize("scenario", list(ROLLS_BACK))
def test_only_a_systemic_data_outage_or_a_pipeline_failure_reaches_the_rollback_composite(
        stack_runs: dict[str, StackRun], scenario: str, cloudwatch: Any) -> None:
    run = stack_runs["prod"]
    (_, env), *_ = core_job_definitions(run)
    cfg = JobConfig.from_env({**env, **LEGACY})
    horizons = run.outputs["horizons"]
    if scenario in DECLARED:
        tasks = [(s, h) for h in horizons for s in DECLARED[scenario]]
        assert publisher.RunPublisher(cfg, "rollback-prod", cloudwatch).expected(tasks) > 0
    make, _ = SCENARIOS[scenario]
    assert publisher.RunPublisher(cfg, "rollback-prod", cloudwatch)([o for h in horizons for o in make(h)]) > 0
    states = {a["name"]: IN_ALARM if breaches(cloudwatch, a) else OK for a in job_alarms(run)}
    composites = {r.inputs["alarmName"]: r.inputs["alarmRule"] for r in run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    rollback = "ensemble-forecast-prod-rollback-required"
    for name in sorted(composites, key=lambda n: n == rollback):  # the rollback composite reads the others
        states[name] = IN_ALARM if composite_holds(composites[name], states) else OK
    assert (states[rollback] == IN_ALARM) is ROLLS_BACK[scenario], scenario
    systemic = {h: states[f"ensemble-forecast-prod-data-incidents-systemic-{h}"] for h in horizons}
    assert set(systemic.values()) == {IN_ALARM if scenario == "systemic data outage" else OK}, systemic
