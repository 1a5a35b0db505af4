"""deploy.yml promotes canary -> limited -> prod, each next stack gated by the review of the previous phase."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy.yml"


def load() -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the bare key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def pulumi_step(job: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    [(i, step)] = [(i, s) for i, s in enumerate(job["steps"]) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return i, step


def test_runs_on_push_to_main_one_at_a_time() -> None:
    doc = load()
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    assert doc["permissions"] == {"contents": "read", "id-token": "write"}


def test_stacks_in_order_each_gated_by_the_previous_review() -> None:
    jobs = load()["jobs"]
    assert list(jobs) == ["canary", "limited", "prod"]
    assert "needs" not in jobs["canary"]
    assert jobs["limited"]["needs"] == "canary" and jobs["prod"]["needs"] == "limited"
    for stack, job in jobs.items():
        i, step = pulumi_step(job)
        assert step["with"]["command"] == "up" and step["with"]["stack-name"] == stack
    for stack, prev in (("limited", "canary"), ("prod", "limited")):
        steps = jobs[stack]["steps"]
        [(r, review)] = [(k, s) for k, s in enumerate(steps) if "jobs.rollout_review" in s.get("run", "")]
        assert f"--phase {prev} --days 7" in review["run"], stack
        assert "continue-on-error" not in review, f"{stack}: a MONITOR or ROLLBACK exit must stop the job"
        assert review["env"]["DATABASE_URL"] == "${{ secrets.PRODUCTION_DATABASE_URL }}"
        assert r < pulumi_step(jobs[stack])[0], f"{stack}: review must run before pulumi up"
    assert not any("rollout_review" in s.get("run", "") for s in jobs["canary"]["steps"])


def test_no_plain_secrets_or_long_lived_keys() -> None:
    text = WORKFLOW.read_text()
    assert "postgresql://" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for ref in re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", text):
        assert ref in {"PULUMI_ACCESS_TOKEN", "AWS_DEPLOY_ROLE_ARN", "PRODUCTION_DATABASE_URL"}, ref
    for job in load()["jobs"].values():
        creds = [s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
        assert creds and creds[0]["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"


def test_install_matches_the_image_torch_pin() -> None:
    for job in load()["jobs"].values():
        [install] = [s for s in job["steps"] if s.get("name") == "Install"]
        assert "torch==2.13.0" in install["run"] and '-e ".[infra]"' in install["run"]
