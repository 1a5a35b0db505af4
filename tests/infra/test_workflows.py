"""The deploy and preview workflows: one stack naming, complete path filters, a pinned CLI, the image before the stack, the gate."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.stacks import ROOT, STACKS, run_stack
from tests.support.workflows import glob_regex

WORKFLOWS = ROOT / ".github" / "workflows"
STACK_REF = "${{ vars.PULUMI_ORG }}/${{ inputs.stack }}"
DEPLOY_IF = "steps.gate.outputs.decision == 'DEPLOY'"
# What deploy.yml passes each stack: the dispatch's input, never anything on a push.
HOTFIX_REASON = "${{ github.event_name == 'workflow_dispatch' && inputs.hotfix_reason || '' }}"


def load(name: str) -> dict[str, Any]:
    """A workflow file; YAML 1.1 reads a bare ``on`` key as True."""
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps_of(name: str) -> list[dict[str, Any]]:
    """The steps of the workflow's only job."""
    (job,) = load(name)["jobs"].values()
    return job["steps"]


def step_named(steps: list[dict[str, Any]], text: str) -> tuple[int, dict[str, Any]]:
    """Index and step whose name or ``uses`` contains ``text`` (exactly one)."""
    found = [(i, s) for i, s in enumerate(steps) if text in str(s.get("name", "")) + str(s.get("uses", ""))]
    assert len(found) == 1, f"{len(found)} steps match {text!r}"
    return found[0]


def program_files() -> set[str]:
    """Every repository file the Pulumi program imports, reads or packages into the image."""
    run_stack("canary")
    imported = {Path(m.__file__).resolve() for name, m in list(sys.modules.items())
                if getattr(m, "__file__", None) and (name.split(".")[0] in ("infra", "jobs"))}
    files = {str(p.relative_to(ROOT)) for p in imported if ROOT in p.parents}
    for folder in ("jobs", "sql"):  # the image's packages (jobs.sql's migrations are the stack's too)
        files |= {str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files |= {p.name for p in ROOT.glob("Pulumi*.yaml")} | {"pyproject.toml", "setup.py", "constraints.txt", ".dockerignore"}
    return files


@pytest.mark.parametrize("workflow, event", [("preview.yml", "pull_request"), ("deploy.yml", "push")])
def test_path_filters_cover_everything_the_program_imports_or_packages(workflow: str, event: str) -> None:
    patterns = [glob_regex(p) for p in load(workflow)["on"][event]["paths"]]
    files = program_files()
    assert {"infra/database/component.py", "jobs/contract/thresholds.py", "jobs/Dockerfile", "jobs/migrate.py",
            "jobs/storage/db.py", "Pulumi.prod.yaml", "sql/__init__.py", "sql/migrations/20260120_ohlc_bars.sql"} <= files
    uncovered = sorted(f for f in files if not any(p.match(f) for p in patterns))
    assert uncovered == [], f"{workflow}: {event} paths miss {uncovered}"
    assert any(p.match(f".github/workflows/{workflow}") for p in patterns), f"{workflow} does not re-run on its own change"


def test_every_stack_is_named_org_slash_stack_from_one_variable() -> None:
    env = load("deploy-stack.yml")["env"]
    assert env["STACK_REF"] == STACK_REF
    for name in ("deploy-stack.yml", "preview.yml"):
        for step in steps_of(name):
            with_ = step.get("with", {})
            if "stack-name" in with_:
                assert with_["stack-name"] in ("${{ env.STACK_REF }}", "${{ vars.PULUMI_ORG }}/${{ matrix.stack }}"), step
            for flag in re.findall(r"\bpulumi\b[^\n]*--stack\s+(\S+)", step.get("run", "")):
                assert flag.startswith('"$STACK_REF"'), f"{name}: {step.get('name')}: --stack {flag}"
    guard = step_named(steps_of("deploy-stack.yml"), "Require the Pulumi organisation")[1]
    assert guard["env"] == {"PULUMI_ORG": "${{ vars.PULUMI_ORG }}"} and "exit 1" in guard["run"]


def test_the_pulumi_cli_is_pinned_to_the_sdk_version() -> None:
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    for name in ("deploy-stack.yml", "preview.yml"):
        assert load(name)["env"]["PULUMI_VERSION"] == sdk, name
        actions = [s for s in steps_of(name) if str(s.get("uses", "")).startswith("pulumi/actions@")]
        assert actions and all(s["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}" for s in actions), name


def test_deploy_runs_the_stacks_in_order_and_one_stack_by_hand() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    stack_input = deploy["on"]["workflow_dispatch"]["inputs"]["stack"]
    assert stack_input["type"] == "choice" and stack_input["options"] == list(STACKS) and stack_input["required"]
    jobs = deploy["jobs"]
    assert list(jobs) == list(STACKS)
    for i, stack in enumerate(STACKS):
        job = jobs[stack]
        assert job["uses"] == "./.github/workflows/deploy-stack.yml"
        assert job["with"] == {"stack": stack, "hotfix_reason": HOTFIX_REASON}, stack
        assert f"inputs.stack == '{stack}'" in job["if"] and "github.event_name == 'push'" in job["if"]
        if i:
            prev = STACKS[i - 1]
            assert job["needs"] == prev
            # Skipped (a dispatch of this stack alone) lets it run; a failed previous stack stops it.
            assert f"needs.{prev}.result == 'success'" in job["if"] and f"needs.{prev}.result == 'skipped'" in job["if"]
            assert "failure" not in job["if"] and "always()" not in job["if"]
    assert deploy["concurrency"] == {"group": "deploy-main", "cancel-in-progress": False}


def test_the_gate_decides_and_the_image_is_pushed_before_pulumi_up() -> None:
    steps = steps_of("deploy-stack.yml")
    g, gate = step_named(steps, "Promotion gate")
    assert "python -m jobs.promotion_gate --stack \"$STACK\"" in gate["run"] and "|| [ $? -eq 3 ]" in gate["run"]
    assert gate["id"] == "gate" and "--github-output \"$GITHUB_OUTPUT\"" in gate["run"]
    a, creds = step_named(steps, "aws-actions/configure-aws-credentials")
    s, select = step_named(steps, "Select the stack")
    q, quota = step_named(steps, "Fargate quota preflight")
    f, find = step_named(steps, "Find the image")
    u, up = step_named(steps, "pulumi up")
    assert g < a < s < q < f < u, "gate, credentials, stack, quota, image, then the stack"
    for step in (creds, quota, find, up):
        assert step["if"] == DEPLOY_IF, step.get("name", step.get("uses"))
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "${{ env.STACK_REF }}"
    # An automatic abort disabled the schedule rules outside Pulumi: only a refreshing up turns them back on.
    assert up["with"]["refresh"] is True
    # Build once, promote by digest: the image was built by build-image.yml; a stack only checks
    # that the digest its file pins is in the one repository, and never builds.
    assert not [st for st in steps if "build-push-action" in str(st.get("uses", ""))], "deploy-stack builds no image"
    assert 'pulumi config get imageRef --stack "$STACK_REF"' in find["run"]
    assert "$IMAGE_REPOSITORY@(sha256:" in find["run"] and "imageDigest=" in find["run"]
    assert "aws ecr describe-images" in find["run"] and "--target" not in str(steps)
    refused = step_named(steps, "Promotion refused")[1]
    assert refused["if"] == "steps.gate.outputs.decision == 'REFUSE'" and "${{" not in refused["run"]


def github_expression(expr: str, event: str, hotfix_reason: str) -> str:
    """Evaluate deploy.yml's ``hotfix_reason`` expression as GitHub does (``&&``/``||`` return an operand)."""
    body = expr.removeprefix("${{").removesuffix("}}").strip()
    assert re.fullmatch(r"[\w.' =&|]*", body), body
    py = body.replace("&&", " and ").replace("||", " or ").replace("github.event_name", repr(event))
    return eval(py.replace("inputs.hotfix_reason", repr(hotfix_reason)), {"__builtins__": {}}, {})  # noqa: S307


@pytest.mark.parametrize(("event", "given", "passed"), [
    ("workflow_dispatch", "CVE-2026-0001 in openssl", "CVE-2026-0001 in openssl"),
    ("workflow_dispatch", "", ""),
    ("push", "CVE-2026-0001 in openssl", ""),  # a push has no inputs; were one set, it is still not passed
    ("push", "", ""),
])
def test_only_a_dispatch_passes_a_hotfix_reason_and_it_reaches_the_gate_through_env(
        event: str, given: str, passed: str) -> None:
    dispatch = load("deploy.yml")["on"]["workflow_dispatch"]["inputs"]["hotfix_reason"]
    assert (dispatch["type"], dispatch["required"], dispatch["default"]) == ("string", False, "")
    assert github_expression(HOTFIX_REASON, event, given) == passed
    called = load("deploy-stack.yml")["on"]["workflow_call"]["inputs"]["hotfix_reason"]
    assert (called["type"], called["required"], called["default"]) == ("string", False, "")
    steps = steps_of("deploy-stack.yml")
    gate = step_named(steps, "Promotion gate")[1]
    assert gate["env"]["HOTFIX_REASON"] == "${{ inputs.hotfix_reason }}"
    assert '(--hotfix "$HOTFIX_REASON")' in gate["run"] and '"${hotfix[@]}"' in gate["run"]
    # Inputs reach the scripts through the environment only, never pasted into a script.
    assert [s.get("name") for s in steps if "${{" in s.get("run", "")] == []
    h, hotfix = step_named(steps, "Hotfix deployed")
    assert hotfix["if"] == "steps.gate.outputs.kind == 'hotfix'"
    assert hotfix["env"] == {"REASON": "${{ steps.gate.outputs.reason }}"} and "$GITHUB_STEP_SUMMARY" in hotfix["run"]
    assert step_named(steps, "Promotion gate")[0] < h < step_named(steps, "pulumi up")[0]
