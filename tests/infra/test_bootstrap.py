"""A new stack comes up from nothing with the documented commands: plain ``pulumi up``, no ``--target``.

The engine's targeting rule (``tests.support.targeting``, from pulumi/pulumi's step generator) is
applied to the program's resource graph as the mocks record it: each registration's URN, parent
and dependencies. The old first deploy, ``pulumi up --target '**forecast-repo'`` before the image
existed, is refused by it: the repository was a child of the new, untargeted ``ForecastJob``
component. The documented path needs no target: the first ``pulumi up`` runs with the schedules
off and no ``imageRef`` (so nothing can run before the image exists), the image is pushed to the
repository that deploy created, and the second ``pulumi up`` pins it and turns the schedules on.
"""

from __future__ import annotations

import re

import pytest

from tests.support.stacks import ACCOUNT, REGION, ROOT, STACKS, StackRun, run_stack
from tests.support.targeting import Node, UntargetedCreate, glob_matcher, plan_update

# `pulumi config set schedulesEnabled false` and `pulumi config set imageRef ""` (docs/runbook.md):
# "" is the key's "not set" default, and keeps the one line `python -m jobs.promote` edits next.
FIRST_DEPLOY = {"schedulesEnabled": False, "imageRef": ""}
REPOSITORY = "aws:ecr/repository:Repository"
ROOT_URN = "urn:pulumi:canary::ensemble-forecast::pulumi:pulumi:Stack::ensemble-forecast-canary"


def graph(run: StackRun) -> list[Node]:
    """The program's registrations, in order, as the engine sees them."""
    return [Node(r.urn, r.parent, r.dependencies) for r in run]


def old_graph(run: StackRun) -> list[Node]:
    """main's program before this change: the repository ``forecast-repo`` was a child of ``ForecastJob``
    (which itself waits for the database), registered as the component's first child."""
    nodes = [n for n in graph(run) if n.type != REPOSITORY]
    job = next(n for n in nodes if n.type == "ensemble:batch:ForecastJob")
    repo = Node(f"urn:pulumi:canary::ensemble-forecast::ensemble:batch:ForecastJob$aws:ecr/repository:Repository"
                "::forecast-repo", parent=job.urn)
    at = nodes.index(job) + 1
    return [*nodes[:at], repo, *nodes[at:]]


@pytest.fixture(scope="module")
def first_deploy() -> StackRun:
    return run_stack("canary", FIRST_DEPLOY)


def test_the_rule_reproduces_the_engines_regression_test() -> None:
    """pulumi/pulumi TestTargetUntargetedParent: a component "parent" and its custom child "child"."""
    stack = "urn:pulumi:test::test::pulumi:pulumi:Stack::test"
    parent = Node("urn:pulumi:test::test::component::parent", parent=stack)
    child = Node("urn:pulumi:test::test::component$pkgA:m:typA::child", parent=parent.urn)
    nodes = [parent, child]
    # "target update": both exist; targeting the child updates it and leaves the parent as it is.
    assert plan_update(nodes, ["**child**"], existing={parent.urn, child.urn}) == {
        parent.urn: "same", child.urn: "update"}
    # "target create": from nothing, the untargeted parent is a skipped create: refused.
    with pytest.raises(UntargetedCreate) as refused:
        plan_update(nodes, ["**child**"])
    assert refused.value.violations == [(child.urn, parent.urn)]
    assert plan_update(nodes) == {parent.urn: "create", child.urn: "create"}
    # Globs as the engine builds them: ** crosses ':', * does not.
    assert glob_matcher("**child").match(child.urn) and not glob_matcher("*child").match(child.urn)


def test_the_old_first_deploy_is_refused(first_deploy: StackRun) -> None:
    old = old_graph(first_deploy)
    repo, job = old[[n.type for n in old].index(REPOSITORY)], next(n for n in old if n.type.endswith("ForecastJob"))
    with pytest.raises(UntargetedCreate) as refused:
        plan_update(old, ["**forecast-repo"])
    assert (repo.urn, job.urn) in refused.value.violations, refused.value
    # (The database's explicit postgresql provider, always created, also needs its untargeted component.)
    assert {dep.rsplit("::", 1)[1] for _, dep in refused.value.violations} == {"forecast", "database"}
    # Targeting the component as well does not help: it waits for the database (depends_on).
    with pytest.raises(UntargetedCreate) as refused:
        plan_update(old, ["**forecast-repo", "**ensemble:batch:ForecastJob::forecast"])
    needs = [dep for urn, dep in refused.value.violations if urn == job.urn]
    assert needs and all("ensemble:database:Schema" in dep for dep in needs), refused.value


def test_the_documented_first_deploy_needs_no_target(first_deploy: StackRun) -> None:
    # 1. `pulumi up` with the schedules off and no imageRef: everything is created, nothing can run.
    first = plan_update(graph(first_deploy))
    assert set(first.values()) == {"create"} and len(first) == len(first_deploy)
    assert not first_deploy.of_type("aws:batch/jobDefinition:JobDefinition")
    assert not [r for r in first_deploy.of_type("aws:cloudwatch/eventRule:EventRule")
                if r.inputs.get("scheduleExpression") or r.inputs["state"] != "DISABLED"]
    assert (first_deploy.outputs["schedulesEnabled"], first_deploy.outputs["autoAbort"],
            first_deploy.outputs["jobDefinitionArns"]) == (False, False, {})
    assert first_deploy.outputs["repositoryUrl"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast"
    # 2. The image is pushed to that repository; 3. `pulumi up` with the committed file (digest, schedules on).
    committed = run_stack("canary")
    second = plan_update(graph(committed), existing={n.urn for n in graph(first_deploy)})
    created = {urn.rsplit("::", 1)[1] for urn, step in second.items() if step == "create"}
    assert {"forecast-core-1D", "forecast-core-1D-schedule", "forecast-core-1D-target", "abort-1D"} <= created
    assert second[next(r.urn for r in committed if r.type == REPOSITORY)] == "update"
    # No --target at all, on purpose: on canary even the top-level repository alone is refused, as the
    # database's explicit postgresql provider is always created and its component would not be.
    with pytest.raises(UntargetedCreate) as refused:
        plan_update(graph(first_deploy), ["**image-repository"])
    assert [(u.rsplit("::", 1)[1], d.rsplit("::", 1)[1]) for u, d in refused.value.violations] == [
        ("database-provider", "database")]


def test_one_repository_for_every_stack(stack_runs: dict[str, StackRun]) -> None:
    [repo] = stack_runs["canary"].of_type(REPOSITORY)
    assert (repo.parent, repo.dependencies, repo.inputs["name"]) == (ROOT_URN, (), "ensemble-forecast")
    # Destroying canary must not delete the images limited and prod run.
    assert repo.retain_on_delete, "the shared repository is retained on delete"
    urls = {stack: stack_runs[stack].outputs["repositoryUrl"] for stack in STACKS}
    assert set(urls.values()) == {f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast"}
    for stack in ("limited", "prod"):
        assert not stack_runs[stack].of_type(REPOSITORY), f"{stack} finds the repository, it does not declare it"


@pytest.mark.parametrize("stack", ["limited", "prod"])
def test_a_later_stack_deploys_the_promoted_digest_with_no_target(stack_runs: dict[str, StackRun], stack: str) -> None:
    run = stack_runs[stack]
    assert set(plan_update(graph(run)).values()) == {"create"}
    images = {r.inputs["containerProperties"]["image"] for r in run.of_type("aws:batch/jobDefinition:JobDefinition")}
    assert images == {run.outputs["imageRef"]} and run.outputs["imageRef"].startswith(
        f"{run.outputs['repositoryUrl']}@sha256:")


def test_an_image_outside_the_shared_repository_stops_the_deploy() -> None:
    other = f"999999999999.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast@sha256:{'ab' * 32}"
    with pytest.raises(Exception, match="is not in the stack's image repository "
                                        f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast"):
        run_stack("limited", {"imageRef": other})


def test_a_digest_the_registry_does_not_hold_stops_the_plan_until_it_is_pushed() -> None:
    digest = f"sha256:{'0d' * 32}"
    never = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ensemble-forecast@{digest}"
    # What ECR answers (DescribeImages, through the aws.ecr.getImage data source): the plan stops,
    # as the deploy workflow's "Find the image" step would, instead of a job failing to pull.
    with pytest.raises(Exception, match=re.escape(f"ImageNotFoundException: The image with imageId {{imageDigest:'{digest}'}}")):
        run_stack("limited", {"imageRef": never})
    pushed = run_stack("limited", {"imageRef": never}, pushed=frozenset({digest}))
    images = {r.name: r.inputs["containerProperties"]["image"] for r in pushed.of_type("aws:batch/jobDefinition:JobDefinition")}
    assert images and set(images.values()) == {never}, images


def test_unset_and_removed_image_refs_bootstrap_alike() -> None:
    removed = run_stack("canary", {"schedulesEnabled": False, "imageRef": None})
    assert sorted(r.urn for r in removed) == sorted(r.urn for r in run_stack("canary", FIRST_DEPLOY))


def test_the_runbook_documents_this_first_deploy() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    commands = [line.strip() for line in runbook.splitlines() if line.strip().startswith(("pulumi ", "python -m"))]
    for step in ("pulumi config set schedulesEnabled false", 'pulumi config set imageRef ""',
                 'python -m jobs.promote --image "$REPO@$DIGEST" --to canary',
                 "pulumi config set schedulesEnabled true"):
        assert any(c.startswith(step) for c in commands), f"docs/runbook.md: the first deploy needs {step!r}"
    assert not [c for c in commands if "--target" in c], "no documented command may use --target"
