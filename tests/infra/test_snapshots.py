"""The committed snapshots are current: a stale one fails with how to fix it."""

from __future__ import annotations

import json

import pytest

from tests.support.snapshots import STALE_HINT, render, snapshot_path, stale_diff
from tests.support.stacks import (
    SECRET_MARKERS,
    STACKS,
    StackRun,
    run_stack,
)


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_is_current(stack_runs: dict[str, StackRun], stack: str) -> None:
    problem = stale_diff(stack, render(stack_runs[stack], stack))
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_holds_no_secret(stack: str) -> None:
    text = snapshot_path(stack).read_text()
    for marker in (*SECRET_MARKERS, "postgresql://"):
        assert marker not in text, f"{snapshot_path(stack).name} carries a secret"
    document = json.loads(text)
    names = [(r["type"], r["name"]) for r in document["resources"]]
    assert names == sorted(names), "resources must be sorted by (type, name)"


def test_a_stale_snapshot_says_run_make_snapshots(stack_runs: dict[str, StackRun]) -> None:
    edited = render(stack_runs["canary"], "canary").replace('"AAPL,MSFT,SPY"', '"AAPL,MSFT"', 1)
    problem = stale_diff("canary", edited)
    assert problem is not None and STALE_HINT in problem and "run `make snapshots`" in problem
    lines = problem.splitlines()
    assert any(line.startswith("-") and '"AAPL,MSFT,SPY"' in line for line in lines), problem
    assert any(line.startswith("+") and '"AAPL,MSFT"' in line for line in lines), problem


def test_runs_in_one_process_do_not_leak_into_each_other(stack_runs: dict[str, StackRun]) -> None:
    """After the other stacks ran in this process, a canary run records exactly what it did first."""
    again = run_stack("canary")
    assert render(again, "canary") == render(stack_runs["canary"], "canary")
    assert again.outputs == stack_runs["canary"].outputs and len(again) == len(stack_runs["canary"])
