"""The capacity count from a stack file agrees with the stack program's job groups.

It builds every stack program under the Pulumi mocks, so it sits in the infra tier (the unit
tier's ``make test-fast`` builds no stack).
"""

from __future__ import annotations

import pytest

from jobs.rollout.capacity import run_tasks
from jobs.rollout.stackfile import read_stack
from tests.support.stacks import ROOT, STACKS, StackRun


@pytest.mark.parametrize("stack", STACKS)
def test_array_children_agree_with_the_stack_programs_job_groups(stack_runs: dict[str, StackRun], stack: str) -> None:
    settings = read_stack(ROOT, stack)
    enabled = settings.values.get("enabledBatches") or None
    groups = stack_runs[stack].outputs["jobGroups"]
    assert run_tasks(settings, enabled) == sum(g["arraySize"] for g in groups.values()), stack
