"""Build once, promote by digest, bootstrap without ``--target``: the workflows and the documented commands.

The steps' shell scripts run for real under bash, against stand-ins for the ``aws``,
``pulumi`` and ``gh`` command-line tools (a script on ``PATH`` that logs its arguments) and a
real git repository; ``python -m jobs.promote`` is the project's own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

import yaml

from jobs.contract.images import IMAGE_REPOSITORY
from tests.support.stacks import ROOT
from tests.support.workflows import WORKFLOWS, job_steps, load_workflow

DIGEST = "sha256:" + "0f" * 32
REGION = "us-east-1"
REPOSITORY_URL = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{IMAGE_REPOSITORY}"
REF = f"{REPOSITORY_URL}@{DIGEST}"
SHA = "1234567890abcdef1234567890abcdef12345678"
DEPLOY_IF = "steps.gate.outputs.decision == 'DEPLOY'"


def step(name: str, text: str) -> dict[str, Any]:
    """The one step of ``name`` whose name or ``uses`` contains ``text``."""
    found = [s for s in job_steps(name) if text in str(s.get("name", "")) + str(s.get("uses", ""))]
    assert len(found) == 1, f"{name}: {len(found)} steps match {text!r}"
    return found[0]


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    """A stand-in command: logs ``name args`` to $TOOL_LOG, then runs ``script`` (bash)."""
    path = bin_dir / name
    path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "$TOOL_LOG"\n{script}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_step(script: str, cwd: Path, bin_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a step's ``run`` script as GitHub does on Linux (``bash -e``), with the stand-ins first on PATH."""
    full = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TOOL_LOG": str(bin_dir / "log"),
            "GITHUB_OUTPUT": str(bin_dir / "output"), "GITHUB_STEP_SUMMARY": str(bin_dir / "summary"), **env}
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


def outputs(bin_dir: Path) -> dict[str, str]:
    path = bin_dir / "output"
    return dict(line.split("=", 1) for line in path.read_text().splitlines()) if path.exists() else {}


@pytest.fixture()
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


# --- build once --------------------------------------------------------------------------------------

def test_one_image_per_commit_tagged_with_the_commit_in_the_one_repository() -> None:
    doc = load_workflow("build-image.yml")
    assert doc["env"]["IMAGE_REPOSITORY"] == IMAGE_REPOSITORY
    assert doc["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in doc["on"]
    build = step("build-image.yml", "Build and push the job image")
    w = build["with"]
    assert (w["file"], w["platforms"], w["push"]) == ("jobs/Dockerfile", "linux/amd64", True)
    assert w["tags"] == "${{ steps.ecr.outputs.registry }}/${{ env.IMAGE_REPOSITORY }}:${{ github.sha }}"
    assert build["if"] == "steps.existing.outputs.digest == ''", "a re-run of the commit does not push again"
    record = step("build-image.yml", "Record the digest")
    assert record["env"]["DIGEST"] == "${{ steps.build.outputs.digest || steps.existing.outputs.digest }}"
    for name in ("build-image.yml", "deploy-stack.yml"):
        assert not any("pulumi up" in str(s.get("run", "")) for s in job_steps(name) if "run" in s), name
    assert not any("docker/build-push-action" in str(s.get("uses", "")) for s in job_steps("deploy-stack.yml")), \
        "a stack deploy never builds: it runs the digest another stack ran"


def test_the_build_runs_on_every_change_to_what_the_image_is_built_from() -> None:
    paths = load_workflow("build-image.yml")["on"]["push"]["paths"]
    dockerfile = (ROOT / "jobs" / "Dockerfile").read_text()
    copied = [src for line in dockerfile.splitlines() if line.startswith("COPY ") for src in line.split()[1:-1]]
    assert {"pyproject.toml", "constraints.txt", "jobs/", "sql/"} <= set(copied)
    # Every file or folder the image copies re-runs the build: a change under sql/ is a new image too.
    wanted = {f"{src}**" if src.endswith("/") else src for src in copied}
    assert set(paths) == wanted | {".dockerignore", ".github/workflows/build-image.yml"}


def test_the_build_pushes_to_the_repository_canary_declares_and_creates_none(bin_dir: Path, tmp_path: Path) -> None:
    assert "create-repository" not in (WORKFLOWS / "build-image.yml").read_text(), "canary's stack declares it"
    script = step("build-image.yml", "Find the repository and this commit's image")["run"]
    env = {"IMAGE_REPOSITORY": IMAGE_REPOSITORY, "AWS_REGION": REGION, "GITHUB_SHA": SHA}
    fake_tool(bin_dir, "aws", f'[ "$2" = describe-repositories ] && echo "{REPOSITORY_URL}"; '
                              f'[ "$2" = describe-images ] && echo "{DIGEST}"; exit 0')
    done = run_step(script, tmp_path, bin_dir, env)
    assert done.returncode == 0, done.stderr
    assert outputs(bin_dir) == {"repository": REPOSITORY_URL, "digest": DIGEST}, "a re-run records the same digest"
    assert (bin_dir / "log").read_text().splitlines() == [
        f"aws ecr describe-repositories --repository-names {IMAGE_REPOSITORY} --query repositories[0].repositoryUri "
        "--output text",
        f"aws ecr describe-images --repository-name {IMAGE_REPOSITORY} --image-ids imageTag={SHA} "
        "--query imageDetails[0].imageDigest --output text"]
    # A new account: canary's first deploy has not declared the repository yet. One line, nothing pushed.
    (bin_dir / "output").unlink()
    fake_tool(bin_dir, "aws", '[ "$2" = describe-repositories ] && exit 254; exit 0')
    done = run_step(script, tmp_path, bin_dir, env)
    assert done.returncode == 1 and outputs(bin_dir) == {}
    assert done.stdout.count("::error::") == 1 and "deploy canary first" in done.stdout, done.stdout


@pytest.mark.parametrize("url, digest, ok", [
    (REPOSITORY_URL, DIGEST, True), (REPOSITORY_URL, "", False), (REPOSITORY_URL, "sha256:abc", False),
    ("", DIGEST, False), (REPOSITORY_URL.replace(REGION, "eu-west-1"), DIGEST, False)])
def test_the_digest_is_recorded_as_the_stack_files_pin_it(bin_dir: Path, tmp_path: Path, url: str, digest: str,
                                                          ok: bool) -> None:
    script = step("build-image.yml", "Record the digest")["run"]
    done = run_step(script, tmp_path, bin_dir, {"IMAGE_REPOSITORY": IMAGE_REPOSITORY, "AWS_REGION": REGION,
                                                "REPOSITORY_URL": url, "DIGEST": digest, "GITHUB_SHA": SHA})
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if ok:
        assert outputs(bin_dir) == {"ref": REF}
        assert json.loads((tmp_path / "image.json").read_text()) == {"commit": SHA, "image": REF}
        assert REF in (bin_dir / "summary").read_text()
    else:
        assert f"::error::no image digest for {SHA} in {IMAGE_REPOSITORY}" in done.stdout


def test_the_build_opens_a_pull_request_whose_diff_is_canarys_image_line(bin_dir: Path, tmp_path: Path) -> None:
    remote, repo = tmp_path / "remote.git", tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.mkdir()
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, repo / path.name)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    (repo / ".gitignore").write_text(".venv\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "stacks"],
                 ["remote", "add", "origin", str(remote)], ["push", "-q", "origin", "main"]):
        subprocess.run([*git, *args], check=True)
    fake_tool(bin_dir, "gh", "exit 0")
    script = step("build-image.yml", "pull request pinning canary")["run"]
    env = {"REF": REF, "GITHUB_SHA": SHA, "GH_TOKEN": "token"}
    done = run_step(script, repo, bin_dir, env)
    assert done.returncode == 0, done.stdout + done.stderr
    branch = f"pin/canary-{SHA[:12]}"
    diff = subprocess.run(["git", "-C", str(remote), "diff", "-U0", "main", branch], check=True, capture_output=True,
                          text=True).stdout.splitlines()
    pinned = yaml.safe_load((ROOT / "Pulumi.canary.yaml").read_text())["config"]["ensemble-forecast:imageRef"]
    assert [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))] == [
        f'-  ensemble-forecast:imageRef: "{pinned}"', f'+  ensemble-forecast:imageRef: "{REF}"']
    (gh,) = (bin_dir / "log").read_text().splitlines()
    assert gh.startswith(f"gh pr create --base main --head {branch} --title canary: run image {SHA[:12]}")
    # Run again for the same image (canary already pins it on this checkout): no second pull request.
    (bin_dir / "log").unlink()
    assert run_step(script, repo, bin_dir, env).returncode == 0
    assert not (bin_dir / "log").exists()


# --- promote by digest, bootstrap -------------------------------------------------------------------

def test_a_stack_deploy_selects_or_creates_the_stack_then_checks_quota_and_image_before_a_plain_up() -> None:
    steps = job_steps("deploy-stack.yml")
    names = [str(s.get("name", s.get("uses", ""))) for s in steps]

    def at(text: str) -> int:
        (i,) = [i for i, n in enumerate(names) if text in n]
        return i

    order = [at("Promotion gate"), at("configure-aws-credentials"), at("Install the Pulumi CLI"),
             at("Select the stack"), at("Fargate quota preflight"), at("Find the image"), at("pulumi up")]
    assert order == sorted(order), names
    select = step("deploy-stack.yml", "Select the stack")
    assert select["run"] == 'pulumi stack select --create --stack "$STACK_REF"' and select["if"] == DEPLOY_IF
    quota = step("deploy-stack.yml", "Fargate quota preflight")
    # Every deploy, not only a promotion: the stacks sharing the quota add up, and another stack's
    # change can push this one over. The default (every stack) check, and a refusal (3) fails the job.
    assert quota["if"] == DEPLOY_IF and quota["env"] == {"KIND": "${{ steps.gate.outputs.kind }}"}
    assert '.venv/bin/python -m jobs.quota_check --stack "$STACK"' in quota["run"]
    assert load_workflow("deploy-stack.yml")["env"]["IMAGE_REPOSITORY"] == IMAGE_REPOSITORY


@pytest.mark.parametrize("ref, in_repository, error", [
    (REF, True, None),
    ("", True, None),  # a first deploy: no image, schedules off (the program refuses it otherwise)
    ("2026.01.27-canary", True, "imageRef 2026.01.27-canary is not pinned by digest"),
    (f"{IMAGE_REPOSITORY}@{DIGEST}", True, f"imageRef {IMAGE_REPOSITORY}@{DIGEST} is not pinned by digest"),
    (REF.replace(IMAGE_REPOSITORY, "ensemble-forecast-canary"), True, "ensemble-forecast-canary@sha256:"
     f"{DIGEST[7:]} is not pinned by digest: expected <account>.dkr.ecr.{REGION}.amazonaws.com/{IMAGE_REPOSITORY}"
     "@sha256:<digest>"),
    (REF.replace(REGION, "eu-west-1"), True, f"{REF.replace(REGION, 'eu-west-1')} is not pinned by digest"),
    (REF, False, f"{REF} is not in the {IMAGE_REPOSITORY} repository"),
])
def test_a_stack_deploys_only_a_digest_already_in_the_one_repository(
        bin_dir: Path, tmp_path: Path, ref: str, in_repository: bool, error: str | None) -> None:
    fake_tool(bin_dir, "pulumi", f'echo "{ref}"')
    fake_tool(bin_dir, "aws", "exit 0" if in_repository else "exit 254")
    done = run_step(step("deploy-stack.yml", "Find the image")["run"], tmp_path, bin_dir,
                    {"IMAGE_REPOSITORY": IMAGE_REPOSITORY, "AWS_REGION": REGION, "STACK": "limited",
                     "STACK_REF": "org/limited"})
    calls = (bin_dir / "log").read_text().splitlines()
    assert calls[0] == "pulumi config get imageRef --stack org/limited"
    if error is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert outputs(bin_dir) == {"ref": ref}
        if ref:
            assert calls[1:] == [f"aws ecr describe-images --repository-name {IMAGE_REPOSITORY} "
                                 f"--image-ids imageDigest={DIGEST}"]
        else:
            assert calls[1:] == [] and "::notice title=limited runs no image::" in done.stdout
    else:
        assert done.returncode == 1 and done.stdout.count("::error::") == 1 and error in done.stdout, done.stdout


def test_no_workflow_or_document_targets_a_resource_to_bootstrap() -> None:
    """``pulumi up --target`` on a new stack fails: the target's parent component is an untargeted create."""
    files = [*WORKFLOWS.glob("*.yml"), ROOT / "docs" / "runbook.md", ROOT / "docs" / "rollout.md"]
    for path in files:
        text = path.read_text()
        assert not re.search(r"pulumi (up|preview)[^\n]*--target", text), path.name
        # The old per-stack repository may be named (the runbook forgets it in the state), never targeted.
        assert "**forecast-repo" not in text, path.name


def test_the_rollout_document_states_the_release_order() -> None:
    text = (ROOT / "docs" / "rollout.md").read_text()
    assert "\n## Release order\n" in text
    section = text.split("\n## Release order\n", 1)[1].split("\n## ", 1)[0]
    positions = [section.index(word) for word in ("1. **Schema**", "2. **Image**", "3. **Stack: canary**",
                                                  "4. **Stack: limited, then prod**")]
    assert positions == sorted(positions), "schema, then image, then stack"
    for command in ("python -m jobs.promote --from canary --to limited", "python -m jobs.quota_check --stack prod"):
        assert command in section


RUNNING = ("promoted", "image-promotion", "hotfix")  # the gate's kinds for a stack that already runs


@pytest.mark.parametrize("kind, status, passes", [
    ("promotion", 0, True), ("promotion", 3, False), ("first-phase", 3, False),
    # A fix or a rollback of a running stack, a new image or a hotfix of one: warned, never blocked.
    ("promoted", 3, True), ("image-promotion", 3, True), ("hotfix", 3, True), ("image-promotion", 0, True),
    ("promoted", 1, False), ("promoted", 2, False),  # the quota unreadable, a bad stack file: not a refusal
    ("hotfix", 1, False), ("promoted-later", 3, False),  # only the gate's own kinds are warned
])
def test_the_quota_preflight_stops_a_first_deploy_and_only_warns_a_running_stack(
        bin_dir: Path, tmp_path: Path, kind: str, status: int, passes: bool) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    line = "REFUSE prod: Fargate On-Demand vCPU resource count is 64 vCPU, but prod and limited need 74 at once"
    fake_tool(checkout / ".venv" / "bin", "python", f'echo "{line}"; exit {status}')
    result = run_step(str(step("deploy-stack.yml", "Fargate quota preflight")["run"]), checkout, bin_dir,
                      {"STACK": "prod", "KIND": kind})
    assert (result.returncode == 0) is passes and line in result.stdout, (result.returncode, result.stdout)
    assert "python -m jobs.quota_check --stack prod" in (bin_dir / "log").read_text()
    warned = f"::warning title=prod deployed over the Fargate quota::{line}" in result.stdout
    assert warned is (kind in RUNNING and status == 3)
    summary = bin_dir / "summary"
    assert (summary.exists() and line in summary.read_text()) is warned
    if not passes:
        assert result.returncode == status


@pytest.mark.parametrize(("reason", "hotfix"), [
    ("", []),  # a push, or a dispatch without a reason: the gate decides
    # A reason is data, never shell: nothing in it runs.
    ("CVE-2026-0001: openssl $(touch ran) `touch ran`",
     ["--hotfix", "CVE-2026-0001: openssl $(touch ran) `touch ran`"]),
])
@pytest.mark.parametrize("status, passes", [(0, True), (3, True), (2, False), (1, False)])
def test_the_gate_step_passes_a_hotfix_reason_as_one_argument(bin_dir: Path, tmp_path: Path, reason: str,
                                                              hotfix: list[str], status: int, passes: bool) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    fake_tool(checkout / ".venv" / "bin", "python",
              f'printf "%s\\n" "$@" > "$TOOL_LOG.args"; echo "decision=DEPLOY" >> "$GITHUB_OUTPUT"; exit {status}')
    result = run_step(str(step("deploy-stack.yml", "Promotion gate")["run"]), checkout, bin_dir,
                      {"STACK": "prod", "HOTFIX_REASON": reason})
    assert (result.returncode == 0) is passes, (result.returncode, result.stdout, result.stderr)
    args = (bin_dir / "log.args").read_text().splitlines()
    assert args == ["-m", "jobs.promotion_gate", "--stack", "prod", "--out-dir", "reports", "--github-output",
                    str(bin_dir / "output"), *hotfix]
    assert not (checkout / "ran").exists()
