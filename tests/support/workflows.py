"""The GitHub Actions workflow files, read as GitHub reads them."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support.stacks import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load_workflow(name: str) -> dict[str, Any]:
    """A workflow file; YAML 1.1 reads a bare ``on`` key as True, so it is put back under ``on``."""
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def job_steps(name: str) -> list[dict[str, Any]]:
    """The steps of the workflow's only job."""
    (job,) = load_workflow(name)["jobs"].values()
    return job["steps"]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """GitHub's path filter glob: ``**`` any characters, ``*`` any but ``/``."""
    out = ""
    for part in re.split(r"(\*\*|\*)", pattern):
        out += ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
    return re.compile(out + "$")
