"""The committed snapshots are current: a stale one fails with how to fix it."""

from __future__ import annotations

import json

import pulumi
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


REPOSITORY = "aws:ecr/repository:Repository"


def committed_resource(stack: str, type_: str) -> dict[str, object]:
    [resource] = [r for r in json.loads(snapshot_path(stack).read_text())["resources"] if r["type"] == type_]
    return resource


def test_the_snapshot_shows_the_shared_repository_retained_on_delete(stack_runs: dict[str, StackRun]) -> None:
    """Destroying canary must not delete the images limited and prod run: the option is in the reviewed file."""
    repository = committed_resource("canary", REPOSITORY)
    assert repository["options"] == {"retainOnDelete": True}, (
        f"{repository['name']}: the shared image repository must be retained on delete, its snapshot options are "
        f"{repository['options']}")
    [live] = stack_runs["canary"].of_type(REPOSITORY)
    assert live.options == repository["options"], f"{live.name}: the program's options differ from the snapshot's"


def _drop_repository_retention(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """A change to the program that drops ``retain_on_delete`` from the repository (and only that)."""
    if args.type_ != REPOSITORY:
        return None
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(
        args.opts, pulumi.ResourceOptions(retain_on_delete=False)))


def test_a_program_that_drops_retain_on_delete_leaves_the_snapshot_stale_with_that_line() -> None:
    changed = run_stack("canary", transformation=_drop_repository_retention)
    [repo] = changed.of_type(REPOSITORY)
    assert repo.options == {}, f"{repo.name}: the transformation should have dropped retain_on_delete"
    problem = stale_diff("canary", render(changed, "canary"))
    assert problem is not None, "dropping retain_on_delete from the shared repository must change the snapshot"
    changed_lines = [ln for ln in problem.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert [(ln[0], ln[1:].strip()) for ln in changed_lines] == [
        ("-", '"options": {'), ("-", '"retainOnDelete": true'), ("-", "},"), ("+", '"options": {},')], problem
