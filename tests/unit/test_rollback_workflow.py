"""The rollback workflow: the automatic abort's dispatch opens the pull request that restores the stack file.

As tests/unit/test_release_workflows.py does, the steps' shell scripts run for real under bash,
against a real git repository with a bare ``origin`` and a stand-in for the ``gh`` command-line
tool (a script on ``PATH`` that logs its arguments); ``python -m jobs.rollback`` is the project's own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.abort.args import DISPATCH_EVENT_TYPE
from jobs.rollout.rollback import plan_rollback
from tests.support.stacks import ROOT, STACKS
from tests.support.workflows import WORKFLOWS, glob_regex, job_steps, load_workflow
from tests.unit.test_release_workflows import bin_dir, fake_tool, run_step, step  # noqa: F401 - bin_dir: a fixture

ALARM = "ensemble-forecast-canary-rollback-required"
ALARM_TIME = "2026-12-04T14:05:00Z"
DISPATCH = {"STACK": "canary", "ALARM": ALARM, "ALARM_TIME": ALARM_TIME, "GH_TOKEN": "token"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """A clone of a repository holding the stack files, whose canary file changed once (models added) after."""
    remote, repo = tmp_path / "remote.git", tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    repo.mkdir()
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, repo / path.name)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    (repo / ".gitignore").write_text(".venv\nrollback-*\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "stacks")
    canary = repo / "Pulumi.canary.yaml"
    canary.write_text(canary.read_text() + "  ensemble-forecast:description: a change the alarm blames\n")
    git(repo, "commit", "-qam", "canary: a change the alarm blames")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return repo


def script() -> str:
    return str(step("rollback.yml", "Open the rollback pull request")["run"])


def test_the_abort_dispatch_starts_it_and_it_only_opens_a_pull_request() -> None:
    doc = load_workflow("rollback.yml")
    assert doc["on"] == {"repository_dispatch": {"types": [DISPATCH_EVENT_TYPE]}}
    assert doc["permissions"] == {"contents": "write", "pull-requests": "write"}, "no OIDC, no deploy from here"
    assert doc["env"]["STACK"] == "${{ github.event.client_payload.stack }}"
    assert "secrets." not in (WORKFLOWS / "rollback.yml").read_text(), "GITHUB_TOKEN only"
    for s in job_steps("rollback.yml"):
        # The deploy is deploy.yml's, after the merge: no cloud credentials, no Pulumi command here.
        assert not str(s.get("uses", "")).startswith(("pulumi/", "aws-actions/")), s
        assert not re.search(r"^\s*(pulumi|aws)\b", s.get("run", ""), re.MULTILINE), s.get("name")
        # The payload comes from outside: never expanded inside a script, only read from env.
        assert "${{" not in s.get("run", ""), s.get("name")
    names = [str(s.get("name", s.get("uses"))) for s in job_steps("rollback.yml")]
    assert names[0] == "Check the dispatch" and names[-1] == "Open the rollback pull request", names


def test_merging_the_rollback_deploys_it_with_refresh_behind_the_stacks_environment() -> None:
    paths = [glob_regex(p) for p in load_workflow("deploy.yml")["on"]["push"]["paths"]]
    assert all(any(p.match(f"Pulumi.{stack}.yaml") for p in paths) for stack in STACKS)
    (deploy,) = load_workflow("deploy-stack.yml")["jobs"].values()
    assert deploy["environment"] == "${{ inputs.stack }}", "required reviewers before each stack's pulumi up"
    up = next(s for s in deploy["steps"] if s.get("name") == "pulumi up")
    assert (up["with"]["command"], up["with"]["refresh"]) == ("up", True), "the refresh turns the schedules back on"


@pytest.mark.parametrize("stack, ok", [("canary", True), ("prod", True), ("staging", False),
                                       ("canary; rm -rf /", False), ("", False)])
def test_the_dispatch_must_name_a_stack(bin_dir: Path, tmp_path: Path, stack: str, ok: bool) -> None:  # noqa: F811
    done = run_step(step("rollback.yml", "Check the dispatch")["run"], tmp_path, bin_dir, {"STACK": stack})
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if not ok:
        assert done.stdout.count("::error::") == 1 and "expected canary, limited or prod" in done.stdout


def test_a_dispatch_opens_one_pull_request_restoring_the_previous_stack_file(
        bin_dir: Path, checkout: Path) -> None:  # noqa: F811
    plan = plan_rollback(checkout, "canary")
    fake_tool(bin_dir, "gh", "exit 0")
    done = run_step(script(), checkout, bin_dir, DISPATCH)
    assert done.returncode == 0, done.stdout + done.stderr
    branch = f"rollback/canary-{plan.previous.sha[:12]}"
    remote = checkout.parent / "remote.git"
    assert git(remote, "show", f"{branch}:Pulumi.canary.yaml") == plan.previous_text
    assert git(remote, "diff", "--name-only", "main", branch).split() == ["Pulumi.canary.yaml"]
    assert git(remote, "log", "--format=%s", f"main..{branch}").splitlines() == [
        f"Roll back canary to {plan.previous.sha[:10]}: {ALARM} at {ALARM_TIME}"]
    (gh,) = (bin_dir / "log").read_text().splitlines()
    assert gh == (f"gh pr create --base main --head {branch} --title Roll back canary to {plan.previous.sha[:10]} "
                  f"({ALARM}) --body-file rollback-body.md")
    body = (checkout / "rollback-body.md").read_text()
    assert "Stack canary: Pulumi.canary.yaml" in body and "`pulumi up --refresh`" in body and ALARM in body
    assert f"rollback pull request from `{branch}`" in (bin_dir / "summary").read_text()
    # The same dispatch again (a retried delivery): the branch is there, no second pull request.
    (bin_dir / "log").unlink()
    git(checkout, "switch", "-q", "main")
    again = run_step(script(), checkout, bin_dir, DISPATCH)
    assert again.returncode == 0 and "::notice title=canary rollback already proposed::" in again.stdout
    assert not (bin_dir / "log").exists()


def test_after_a_merged_rollback_a_new_dispatch_does_not_roll_back_the_rollback(
        bin_dir: Path, checkout: Path) -> None:  # noqa: F811
    fake_tool(bin_dir, "gh", "exit 0")
    assert run_step(script(), checkout, bin_dir, DISPATCH).returncode == 0
    git(checkout, "push", "-q", "origin", "HEAD:main")  # the rollback pull request is merged
    (bin_dir / "log").unlink()
    done = run_step(script(), checkout, bin_dir, DISPATCH)
    assert done.returncode == 1 and done.stdout.count("::error::") == 1, done.stdout + done.stderr
    assert "the last change of Pulumi.canary.yaml is already a rollback" in done.stdout
    assert not (bin_dir / "log").exists()


def test_a_stack_file_with_one_version_has_nothing_to_roll_back_to(bin_dir: Path, checkout: Path) -> None:  # noqa: F811
    fake_tool(bin_dir, "gh", "exit 0")
    done = run_step(script(), checkout, bin_dir, {**DISPATCH, "STACK": "limited"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: Pulumi.limited.yaml has a single committed version"), done.stderr
    assert git(checkout.parent / "remote.git", "branch", "--list", "rollback/*") == ""
    assert not (bin_dir / "log").exists()


def installed_by(requirements: Path) -> set[str]:
    """The distributions ``pip install -r requirements`` installs: each line's, with its dependencies' closure.

    Dependencies come from the installed metadata; a marker is evaluated for the base install
    and for each extra the requirement asks for (``psycopg[binary]`` brings ``psycopg-binary``).
    """
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    todo, seen = [Requirement(line) for line in lines if line], set[tuple[str, frozenset[str]]]()
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.requires(req.name) or []:
            dep = Requirement(raw)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(dep)
    return {name for name, _ in seen}


def test_the_rollback_command_needs_only_what_the_workflow_installs(checkout: Path, tmp_path: Path) -> None:
    """rollback.yml installs the project with ``--no-deps`` and .github/rollback-requirements.txt: the
    command it runs, run for real here, imports nothing from site-packages that those do not install."""
    install = str(step("rollback.yml", "Install")["run"])
    assert "--no-deps -e ." in install and "-c constraints.txt -r .github/rollback-requirements.txt" in install
    assert "torch" not in install, "the rollback workflow installs torch again"
    out = tmp_path / "modules.json"
    # Only what the command imports: the interpreter's start-up (site's .pth hooks) is not its doing.
    code = ("import atexit, json, runpy, sys\n"
            "before = set(sys.modules)\n"
            f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps("
            "{n: getattr(m, '__file__', None) for n, m in list(sys.modules.items()) if n not in before})))\n"
            "sys.argv = ['jobs.rollback', '--stack', 'canary']\n"
            "runpy.run_module('jobs.rollback', run_name='__main__', alter_sys=True)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "Pulumi.canary.yaml" in result.stdout, result.stderr
    # Third-party: any module from a file but the project's own and the standard library's, by name
    # or by place (not sysconfig's "platstdlib": in a virtual environment that is its own prefix,
    # which holds site-packages too).
    stdlib = sysconfig.get_paths()["stdlib"]
    loaded = {name.split(".")[0] for name, path in json.loads(out.read_text()).items()
              if path and not path.startswith(stdlib) and name.split(".")[0] not in {*sys.stdlib_module_names, "jobs"}}
    assert "psycopg" in loaded, f"the check sees no third-party module at all: {sorted(loaded)}"  # it can see
    owners = metadata.packages_distributions()
    needed = {canonicalize_name(d) for m in loaded for d in owners.get(m, [m])}
    allowed = installed_by(ROOT / ".github" / "rollback-requirements.txt") | {"ensemble-forecast"}
    missing = sorted(needed - allowed)
    assert not missing, f"python -m jobs.rollback imports {missing}: add them to .github/rollback-requirements.txt"
