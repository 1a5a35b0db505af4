"""The job image and the preview workflow agree with the stacks and with CI's install."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

from tests.support.stacks import ROOT, STACKS, StackRun

DOCKERFILE = (ROOT / "jobs" / "Dockerfile").read_text()
INSTRUCTIONS = [line.strip() for line in DOCKERFILE.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_image_installs_cpu_torch_first_then_the_project_without_dev_extras() -> None:
    assert INSTRUCTIONS[0] == "FROM --platform=linux/amd64 python:3.11-slim", "Fargate runs the tasks on X86_64"
    runs = [i for i in INSTRUCTIONS if i.startswith("RUN pip install")]
    pin = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
               if d.startswith("torch"))
    assert runs[0] == f"RUN pip install --index-url https://download.pytorch.org/whl/cpu {pin}", runs
    assert runs[1] == "RUN pip install -c constraints.txt .", "the image installs what CI installs, without the dev extra"
    makefile = (ROOT / "Makefile").read_text()
    assert 'pip install --quiet -c constraints.txt -e ".[dev]"' in makefile, "CI pins with the same constraints"
    assert not any(i.startswith("COPY sql") for i in INSTRUCTIONS), "the SQL ships inside the package"


def test_image_runs_as_a_non_root_user() -> None:
    users = [i.split()[1] for i in INSTRUCTIONS if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert INSTRUCTIONS.index(f"USER {users[-1]}") < INSTRUCTIONS.index(next(i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")))


def test_entrypoint_plus_job_command_is_the_forecast_job(stack_runs: dict[str, StackRun]) -> None:
    entrypoint = json.loads(next(i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")).removeprefix("ENTRYPOINT"))
    assert entrypoint == ["python", "-m", "jobs.unified_forecast_job"]
    for stack, run in stack_runs.items():
        for resource in run.of_type("aws:batch/jobDefinition:JobDefinition"):
            horizon = resource.inputs["tags"]["horizon"]
            command = entrypoint + resource.inputs["containerProperties"]["command"]
            assert command == ["python", "-m", "jobs.unified_forecast_job", "--horizon", horizon], f"{stack} {resource.name}"


def test_dockerignore_keeps_only_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("**") + 1:lines.index("**") + 5] == ["!pyproject.toml", "!constraints.txt", "!jobs/", "**/__pycache__"]


def test_preview_workflow_previews_every_stack_and_comments_the_diff() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert "pull_request" in on
    job = workflow["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
    assert step["with"]["comment-on-pr"] is True and re.search(r"matrix\.stack", step["with"]["stack-name"])


def test_wheel_carries_migrations_and_queries_but_no_seed_sql(tmp_path: Path) -> None:
    """What `pip install .` puts in the image: every migration and query, none of the test-only SQL."""
    # Build from a clean copy of what the image copies: setuptools reuses a stale build/ folder.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "jobs", source / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("migrations", "queries"):
        shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"jobs/storage/sql/{kind}/")}
        on_disk = {p.name for p in (ROOT / "jobs" / "storage" / "sql" / kind).glob("*.sql")}
        assert shipped == on_disk and on_disk, f"{kind}: wheel has {sorted(shipped)}"
    assert not any("review_seed" in n or n.startswith("tests/") for n in names)
