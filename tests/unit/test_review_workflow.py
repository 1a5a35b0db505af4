"""deploy.yml runs canary -> limited -> prod through deploy-stack.yml: one at a time, no plain secrets, CI's install."""

from __future__ import annotations

import re
from typing import Any

from tests.support.workflows import WORKFLOWS, load_workflow


def load(name: str = "deploy.yml") -> dict[str, Any]:
    return load_workflow(name)


def test_runs_on_push_to_main_one_at_a_time() -> None:
    doc = load()
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    for name in ("deploy.yml", "deploy-stack.yml"):
        assert load(name)["permissions"] == {"contents": "read", "id-token": "write"}, name


def test_each_stack_job_calls_the_one_stack_workflow_with_the_callers_secrets() -> None:
    jobs = load()["jobs"]
    assert list(jobs) == ["canary", "limited", "prod"]
    assert "needs" not in jobs["canary"]
    assert jobs["limited"]["needs"] == "canary" and jobs["prod"]["needs"] == "limited"
    for stack, job in jobs.items():
        assert job["uses"] == "./.github/workflows/deploy-stack.yml" and job["with"]["stack"] == stack
        # The only other input: a dispatch's hotfix reason (tests/infra/test_workflows.py).
        assert set(job["with"]) == {"stack", "hotfix_reason"}, stack
        assert job["secrets"] == "inherit"
    (deploy,) = load("deploy-stack.yml")["jobs"].values()
    assert deploy["environment"] == "${{ inputs.stack }}"


def test_no_plain_secrets_or_long_lived_keys() -> None:
    for name in ("deploy.yml", "deploy-stack.yml"):
        text = (WORKFLOWS / name).read_text()
        assert "postgresql://" not in text and "AWS_SECRET_ACCESS_KEY" not in text
        for ref in re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", text):
            assert ref in {"PULUMI_ACCESS_TOKEN", "AWS_DEPLOY_ROLE_ARN", "PRODUCTION_DATABASE_URL"}, ref
    (job,) = load("deploy-stack.yml")["jobs"].values()
    creds = [s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    assert creds and creds[0]["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"
    gate = next(s for s in job["steps"] if s.get("id") == "gate")
    assert gate["env"] == {"DATABASE_URL": "${{ secrets.PRODUCTION_DATABASE_URL }}",
                           "HOTFIX_REASON": "${{ inputs.hotfix_reason }}"}


def test_install_matches_the_image_torch_pin() -> None:
    (job,) = load("deploy-stack.yml")["jobs"].values()
    [install] = [s for s in job["steps"] if s.get("name") == "Install"]
    assert "torch==2.13.0" in install["run"] and '-e ".[infra]"' in install["run"]
