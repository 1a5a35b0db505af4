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


def copied_before_install() -> set[str]:
    """The paths the Dockerfile COPYs (each to the same path under WORKDIR) before `pip install .`."""
    install = INSTRUCTIONS.index("RUN pip install -c constraints.txt .")
    copied = set()
    for instruction in INSTRUCTIONS[:install]:
        if instruction.startswith("COPY "):
            *sources, dest = instruction.split()[1:]
            for source in sources:
                assert dest in ("./", source), f"{instruction}: copy to the same path, so pyproject.toml's paths hold"
                copied.add(source.rstrip("/"))
    return copied


def test_image_copies_every_package_source_before_installing() -> None:
    """`pip install .` builds from what was copied: a package-dir folder copied later would be missing."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    sources = set(setuptools["package-dir"].values())
    assert sources == {"sql"}, "the package-dir sources this test was written for"
    copied = copied_before_install()
    assert sources | {"pyproject.toml", "setup.py", "jobs"} <= copied, f"copied before the install: {sorted(copied)}"
    assert "infra" not in copied and "tests" not in copied, "the image carries the job only"
    included = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().split() if line.startswith("!")]
    assert copied <= set(included), f".dockerignore must let {sorted(copied - set(included))} into the build context"


def test_image_runs_as_a_non_root_user() -> None:
    users = [i.split()[1] for i in INSTRUCTIONS if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert INSTRUCTIONS.index(f"USER {users[-1]}") < INSTRUCTIONS.index(next(i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")))


def test_entrypoint_plus_job_command_is_the_forecast_job(stack_runs: dict[str, StackRun]) -> None:
    entrypoint = json.loads(next(i for i in INSTRUCTIONS if i.startswith("ENTRYPOINT")).removeprefix("ENTRYPOINT"))
    # tini as PID 1 forwards Batch's SIGTERM to the job (-s: quiet as a subreaper under Batch's own init).
    assert entrypoint == ["tini", "-s", "--", "python", "-m", "jobs.unified_forecast_job"]
    for stack, run in stack_runs.items():
        for resource in run.of_type("aws:batch/jobDefinition:JobDefinition"):
            horizon = resource.inputs["tags"]["horizon"]
            command = entrypoint[3:] + resource.inputs["containerProperties"]["command"]
            assert command == ["python", "-m", "jobs.unified_forecast_job", "--horizon", horizon], f"{stack} {resource.name}"


def test_dockerignore_keeps_only_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines[lines.index("**") + 1:lines.index("**") + 7] == [
        "!pyproject.toml", "!setup.py", "!constraints.txt", "!jobs/", "!sql/", "**/__pycache__"]


def test_preview_workflow_previews_every_stack_and_comments_the_diff() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert "pull_request" in on
    job = workflow["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
    assert step["with"]["comment-on-pr"] is True and re.search(r"matrix\.stack", step["with"]["stack-name"])


def test_wheel_carries_the_sql_package_but_neither_infra_nor_test_sql(tmp_path: Path) -> None:
    """What `pip install .` puts in the image: every migration, query and schema.sql under jobs/sql/."""
    # Build from a clean copy of what the image copies: setuptools reuses a stale build/ folder.
    source = tmp_path / "src"
    source.mkdir()
    for name in copied_before_install():
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)], check=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("migrations", "queries"):
        shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"jobs/sql/{kind}/")}
        on_disk = {p.name for p in (ROOT / "sql" / kind).glob("*.sql")}
        assert shipped == on_disk and on_disk, f"{kind}: wheel has {sorted(shipped)}"
    assert {"jobs/sql/__init__.py", "jobs/sql/schema.sql"} <= names
    assert not any(n.startswith(("infra/", "tests/", "sql/")) for n in names), sorted(names)
    test_sql = {p.name for p in (ROOT / "tests" / "support" / "sql").glob("*.sql")}
    assert test_sql and not {n.rsplit("/", 1)[-1] for n in names} & test_sql, "test-only SQL stays out of the image"


def test_editable_install_sees_a_new_migration_without_reinstalling(tmp_path: Path) -> None:
    """`pip install -e .` maps jobs.sql to the checkout's sql/: a migration added afterwards is found."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("jobs", "sql"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy(ROOT / name, checkout / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # pip and setuptools from this environment, on the new one's path (not its install target).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_deps.pth").write_text("\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "-e", str(checkout)], check=True, cwd=tmp_path)
    added = "29991231_added_after_install.sql"
    (checkout / "sql" / "migrations" / added).write_text("-- depends:\nSELECT 1;\n")
    probe = ("from importlib.resources import files; from jobs.sql import migrations_dir; "
             f"print(files('jobs.sql').joinpath('migrations', {added!r}).read_text().splitlines()[0]); "
             "print(sorted(p.name for p in migrations_dir().glob('*.sql'))[-1]); print(migrations_dir())")
    # Run outside the checkout, so that only the editable install can find jobs.sql.
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout.splitlines()
    assert out == ["-- depends:", added, str(checkout / "sql" / "migrations")], out
