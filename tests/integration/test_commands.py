"""Every command the README, the rollout document, the Dockerfile, the stacks and the workflows name still runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.stacks import ROOT

COMMANDS = ("unified_forecast_job", "migrate", "load_bars", "daily_checks", "rollout_review", "dashboard", "rollback",
            "promotion_gate", "promote", "quota_check", "bars")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_answers_help_as_a_module(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"jobs.{command}", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"jobs.{command} --help: {done.stderr}"
    assert f"python -m jobs.{command}" in done.stdout, f"jobs.{command}: usage names the command: {done.stdout}"


def test_every_command_named_in_the_docs_and_deploy_files_exists() -> None:
    named: set[str] = set()
    for path in ("README.md", "docs/runbook.md", "docs/rollout.md", "jobs/Dockerfile", "Makefile",
                 ".github/workflows/deploy.yml", ".github/workflows/deploy-stack.yml", ".github/workflows/build-image.yml",
                 ".github/workflows/preview.yml", "infra/database/component.py", "infra/batch/component.py"):
        text = (ROOT / path).read_text()
        named |= set(re.findall(r"-m\W{0,4}jobs\.(\w+)", text))
    assert {"unified_forecast_job", "promote", "quota_check"} <= named and named <= set(COMMANDS), f"not a command: {sorted(named - set(COMMANDS))}"
