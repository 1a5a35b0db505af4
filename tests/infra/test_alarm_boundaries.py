"""Each trigger's CloudWatch alarm, as each real stack declares it, fires on the same side of the same boundary.

Generated from ``jobs.contract.triggers.TRIGGERS``: for every trigger with an alarm, the alarm's
recorded ``threshold`` and ``comparisonOperator`` (the real ``Pulumi.<stack>.yaml`` under Pulumi
mocks) are evaluated as CloudWatch does, ``value OP threshold``, just below, at and just above
the threshold, and must agree with the trigger's own words and the threshold the same stack
renders into the job's environment (so the job, its review and the alarm judge alike).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobs.contract.thresholds import ENV_VARS, Thresholds, parse_thresholds
from jobs.contract.triggers import TRIGGERS, Trigger
from tests.support.boundaries import (
    CLOUDWATCH,
    COUNT_STEP,
    FRACTION_STEP,
    Rule,
    fires,
    threshold_rule,
)
from tests.support.stacks import STACKS, StackRun

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# An alarm on its own band rather than the trigger's threshold: the daily calibration alarms are
# wider than the review's band on purpose (jobs.contract.triggers, coverage-low/high).
ALARM_FIELD = {"coverage-low": "coverage_alarm_low", "coverage-high": "coverage_alarm_high"}
# A trigger without a threshold fires on any occurrence; its alarm counts occurrences in a run's
# period (for missing forecasts, the tasks owed: due minus written minus failed).
OCCURRENCE = {"model-errors": Rule(">", 0, COUNT_STEP), "pipeline-failures": Rule(">", 0, COUNT_STEP),
              "forecasts-missing": Rule(">", 0, COUNT_STEP)}
# A trigger whose alarm is a composite: its boundary is on this metric alarm, which the composite
# requires (forecasts-missing-<h> = owed AND judged AND NOT in progress, infra.monitoring.runs).
BOUNDARY_ALARM = {"forecasts-missing": "forecasts-owed", "data-incidents-systemic": "data-incidents-share"}
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
# Threshold alarms outside the trigger table: a window above the warning (overfitting, review
# topic) or the critical divergence (immediate topic), as walkforward and the publisher flag it.
WINDOW_ALARMS = {"divergence-warning": Rule(">", Thresholds().divergence_warning, FRACTION_STEP),
                 "divergence-critical": Rule(">", Thresholds().divergence_critical, FRACTION_STEP)}
ALARMED = [t for t in TRIGGERS if t.alarm]


def stack_thresholds(run: StackRun) -> Thresholds:
    """The thresholds the stack renders into its job's environment."""
    job = run.of_type("aws:batch/jobDefinition:JobDefinition")[0]
    env = {e["name"]: e["value"] for e in job.inputs["containerProperties"]["environment"]}
    return parse_thresholds({field: env[var] for field, var in ENV_VARS.items()})


def alarms_of(run: StackRun, stack: str, key: str, stack_wide: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """The alarm ``key`` of the stack, or of each of its horizons."""
    by_name = {r.inputs["name"]: r.inputs for r in run.of_type(ALARM)}
    suffixes = [""] if stack_wide else [f"-{h}" for h in run.outputs["horizons"]]
    for suffix in suffixes:
        name = f"ensemble-forecast-{stack}-{key}{suffix}"
        assert name in by_name, f"{stack}: no alarm {name}"
        yield name, by_name[name]


def expected_rule(trigger: Trigger, t: Thresholds) -> Rule:
    if trigger.threshold is None:
        return OCCURRENCE[trigger.alarm or ""]
    rule = threshold_rule(trigger, t)
    field = ALARM_FIELD.get(trigger.alarm or "")
    return Rule(rule.op, float(getattr(t, field)), rule.step) if field else rule


def assert_same_boundary(name: str, alarm: dict[str, Any], rule: Rule) -> None:
    op = CLOUDWATCH[alarm["comparisonOperator"]]
    assert alarm["threshold"] == rule.limit, f"{name}: threshold {alarm['threshold']}, the rule's is {rule.limit}"
    for point, value in rule.points().items():
        assert fires(op, value, alarm["threshold"]) is rule.fires(value), (
            f"{name} ({alarm['comparisonOperator']} {alarm['threshold']}) {point} ({value!r}): "
            f"the trigger says {'fire' if rule.fires(value) else 'no'}")


def test_every_alarmed_trigger_without_a_threshold_has_its_occurrence_rule() -> None:
    assert {t.alarm for t in ALARMED if t.threshold is None} == set(OCCURRENCE)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("trigger", ALARMED, ids=lambda t: t.name)
def test_the_alarm_fires_exactly_where_its_trigger_does(stack_runs: dict[str, StackRun], stack: str,
                                                        trigger: Trigger) -> None:
    run = stack_runs[stack]
    rule = expected_rule(trigger, stack_thresholds(run))
    key = BOUNDARY_ALARM.get(trigger.alarm or "", trigger.alarm or "")
    if key != trigger.alarm:
        composites = {r.inputs["alarmName"]: r.inputs["alarmRule"] for r in run.of_type(COMPOSITE)}
        for horizon in run.outputs["horizons"]:
            composite = f"ensemble-forecast-{stack}-{trigger.alarm}-{horizon}"
            assert f'ALARM("ensemble-forecast-{stack}-{key}-{horizon}") AND' in composites.get(composite, ""), \
                f"{composite} does not require its {key} alarm"
    for name, alarm in alarms_of(run, stack, key, trigger.stack_wide):
        assert_same_boundary(name, alarm, rule)
        assert alarm["evaluationPeriods"] == 1, name  # one period's value decides, as the review's figure does


@pytest.mark.parametrize("stack", STACKS)
def test_the_storm_alarm_counts_over_the_configured_period(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    (name, alarm), = alarms_of(run, stack, "alert-storm", stack_wide=True)
    assert alarm["period"] == stack_thresholds(run).alert_storm_period_seconds, name


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("key", sorted(WINDOW_ALARMS))
def test_window_divergence_alarms_at_their_thresholds(stack_runs: dict[str, StackRun], stack: str, key: str) -> None:
    run = stack_runs[stack]
    t = stack_thresholds(run)
    rule = Rule(">", getattr(t, key.replace("-", "_")), FRACTION_STEP)
    assert rule == WINDOW_ALARMS[key]  # the stack files keep the rollout document's defaults
    for name, alarm in alarms_of(run, stack, key, stack_wide=False):
        assert_same_boundary(name, alarm, rule)
