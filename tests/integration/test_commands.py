"""Every command the README, the rollout document, the Dockerfile, the stacks and the workflows name still runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.support.stacks import ROOT

COMMANDS = ("unified_forecast_job", "migrate", "load_bars", "daily_checks", "rollout_review", "dashboard", "rollback",
            "promotion_gate", "promote", "quota_check", "bars")


# Each command run as `python -m jobs.<command> --help` does (runpy, as __main__), one after the
# other in one fresh interpreter: one Python start and one import of the project instead of
# eleven (about 6 s of CPU). It prints, per command, its exit status, stdout and stderr as JSON.
HELP_SCRIPT = """
import contextlib, io, json, runpy, sys
results = {}
for command in sys.argv[1:]:
    out, err, code = io.StringIO(), io.StringIO(), None
    sys.argv = [command, "--help"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module("jobs." + command, run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            code = exc.code
    results[command] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def helps() -> dict[str, dict[str, object]]:
    """Every command's answer to ``--help``, run as a module in one fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", HELP_SCRIPT, *COMMANDS], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_answers_help_as_a_module(helps: dict[str, dict[str, object]], command: str) -> None:
    answer = helps[command]
    assert answer["code"] in (0, None), f"jobs.{command} --help: {answer['stderr']}"
    assert f"python -m jobs.{command}" in str(answer["stdout"]), f"jobs.{command}: usage names the command: {answer}"


def test_every_command_named_in_the_docs_and_deploy_files_exists() -> None:
    named: set[str] = set()
    for path in ("README.md", "docs/runbook.md", "docs/rollout.md", "jobs/Dockerfile", "Makefile",
                 ".github/workflows/deploy.yml", ".github/workflows/deploy-stack.yml", ".github/workflows/build-image.yml",
                 ".github/workflows/preview.yml", "infra/database/component.py", "infra/batch/component.py"):
        text = (ROOT / path).read_text()
        named |= set(re.findall(r"-m\W{0,4}jobs\.(\w+)", text))
    assert {"unified_forecast_job", "promote", "quota_check"} <= named and named <= set(COMMANDS), f"not a command: {sorted(named - set(COMMANDS))}"
