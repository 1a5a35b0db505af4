"""The rollback composite alarm is made of exactly the alarms of the table's ROLLBACK triggers."""

from __future__ import annotations

import re

import pytest

from jobs.contract.triggers import TRIGGERS, Verdict
from tests.support.stacks import STACKS, StackRun


@pytest.mark.parametrize("stack", STACKS)
def test_composite_names_exactly_the_rollback_triggers_alarms(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    prefix = f"ensemble-forecast-{stack}-"
    horizons = run.outputs["horizons"]
    # Metric alarms and composites (forecasts-missing-<horizon> is a composite of the missed-run alarms).
    alarms = {r.inputs["name"] for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")} | {
        r.inputs["alarmName"] for r in run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    rule = run.named("monitoring-rollback-required").inputs["alarmRule"]
    fires = set(re.findall(r'(?<!NOT )ALARM\("([^"]+)"\)', rule))

    def names(verdict: Verdict) -> set[str]:
        out: set[str] = set()
        for t in TRIGGERS:
            if t.verdict is verdict and t.alarm:
                out |= {prefix + t.alarm} if t.stack_wide else {f"{prefix}{t.alarm}-{h}" for h in horizons}
        return out

    assert names(Verdict.ROLLBACK) <= alarms and names(Verdict.MONITOR) <= alarms, f"{stack}: a trigger names no alarm"
    assert fires == names(Verdict.ROLLBACK), f"{stack}: composite {sorted(fires ^ names(Verdict.ROLLBACK))}"
    assert not fires & names(Verdict.MONITOR)
