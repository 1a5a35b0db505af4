"""``python -m jobs.promote``: one image per commit, promoted by digest, the stack diff exactly one line.

Each test works on a git repository holding copies of the real stack files, with commits
dated as the story needs (the pin's age is read from git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from jobs import promote
from jobs.contract.images import IMAGE_REF_FORM
from tests.support.stacks import ROOT

DIGEST = "sha256:" + "ab12" * 16
REPOSITORY_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ensemble-forecast"
REF = f"{REPOSITORY_URL}@{DIGEST}"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)


def git(repo: Path, *args: str, when: datetime = NOW) -> str:
    """Run git in ``repo`` with a fixed identity and commit date."""
    stamp = when.isoformat()
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True).stdout


def set_canary_image(repo: Path, value: str) -> None:
    """Edit canary's imageRef line by hand, as someone would."""
    path = repo / "Pulumi.canary.yaml"
    lines = [f'  ensemble-forecast:imageRef: "{value}"' if "ensemble-forecast:imageRef:" in line else line
             for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A checkout with the real stack files, first committed 30 days before ``NOW``."""
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "stacks", when=NOW - timedelta(days=30))
    return tmp_path


def pin_canary(repo: Path, days_ago: float, ref: str = REF) -> None:
    set_canary_image(repo, ref)
    git(repo, "commit", "-qam", "canary: run image", when=NOW - timedelta(days=days_ago))


def pinned(stack: str) -> str:
    """The image the real ``Pulumi.<stack>.yaml`` pins."""
    return str(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["ensemble-forecast:imageRef"])


def run(repo: Path, *argv: str) -> int:
    return promote.main([*argv, "--repo", str(repo)], now=NOW)


def changed_lines(repo: Path, name: str) -> list[str]:
    """The removed and added lines of ``git diff`` for one file."""
    diff = git(repo, "diff", "-U0", "--", name).splitlines()
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_promotion_copies_the_digest_canary_ran_and_changes_exactly_that_line(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = yaml.safe_load((repo / "Pulumi.limited.yaml").read_text())
    pin_canary(repo, days_ago=8)
    assert run(repo, "--from", "canary", "--to", "limited") == 0
    assert changed_lines(repo, "Pulumi.limited.yaml") == [
        f'-  ensemble-forecast:imageRef: "{pinned("limited")}"',
        f'+  ensemble-forecast:imageRef: "{REF}"',
    ]
    assert git(repo, "status", "--porcelain").split() == ["M", "Pulumi.limited.yaml"]
    after = yaml.safe_load((repo / "Pulumi.limited.yaml").read_text())
    assert after["config"].pop("ensemble-forecast:imageRef") == REF
    before["config"].pop("ensemble-forecast:imageRef")
    assert after == before
    out = capsys.readouterr().out
    assert f"imageRef {pinned('limited')} -> {REF}" in out and "canary has pinned it for 8.0 days" in out

    # Promoted again, nothing changes; prod takes it from limited once limited's pin is old enough.
    git(repo, "commit", "-qam", "limited: run image", when=NOW - timedelta(days=7))
    assert run(repo, "--from", "canary", "--to", "limited") == 0
    assert "limited already pins" in capsys.readouterr().out and git(repo, "status", "--porcelain") == ""
    assert run(repo, "--from", "limited", "--to", "prod") == 0
    assert [line[:1] for line in changed_lines(repo, "Pulumi.prod.yaml")] == ["-", "+"]


@pytest.mark.parametrize("canary, why", [
    ("2026.01.27-canary", "is not pinned by digest"),
    ("", "is not pinned by digest"),  # canary still bootstrapping: no image yet
    (f"ensemble-forecast@{DIGEST}", "is invalid"),  # the bare form: Batch cannot pull it
])
def test_only_a_digest_in_the_registry_form_is_promoted(repo: Path, canary: str, why: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    pin_canary(repo, days_ago=30, ref=canary)
    assert run(repo, "--from", "canary", "--to", "limited") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: promotion of limited refused: Pulumi.canary.yaml imageRef=")
    assert f"{canary!r} {why}: expected {IMAGE_REF_FORM}" in err, err
    assert f"python -m jobs.promote --image {IMAGE_REF_FORM} --to canary" in err
    assert git(repo, "status", "--porcelain") == ""


def test_a_pin_younger_than_the_phase_minimum_is_refused_unless_asked(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pin_canary(repo, days_ago=2)
    assert run(repo, "--from", "canary", "--to", "limited") == 3
    assert f"canary has pinned {REF} for 2.0 of its minimum 7 days" in capsys.readouterr().err
    assert git(repo, "status", "--porcelain") == ""
    assert run(repo, "--from", "canary", "--to", "limited", "--min-days", "0") == 0  # a hotfix
    assert len(changed_lines(repo, "Pulumi.limited.yaml")) == 2


def test_the_age_counts_from_the_commit_that_pinned_the_digest_not_a_later_edit(repo: Path) -> None:
    pin_canary(repo, days_ago=10)
    path = repo / "Pulumi.canary.yaml"
    path.write_text(path.read_text().replace("maxVcpus: 8", "maxVcpus: 12"))
    git(repo, "commit", "-qam", "canary: more vCPUs", when=NOW - timedelta(days=1))
    assert run(repo, "--from", "canary", "--to", "limited") == 0


def test_an_uncommitted_pin_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_canary_image(repo, REF)
    assert run(repo, "--from", "canary", "--to", "limited") == 3
    assert f"canary's imageRef {REF} is not committed: canary has never run it" in capsys.readouterr().err


def test_the_build_pins_canary_by_image_in_one_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(repo, "--image", REF, "--to", "canary") == 0
    assert changed_lines(repo, "Pulumi.canary.yaml") == [
        f'-  ensemble-forecast:imageRef: "{pinned("canary")}"', f'+  ensemble-forecast:imageRef: "{REF}"']
    assert f'git commit -m "canary: run image {DIGEST[:19]}" -- Pulumi.canary.yaml' in capsys.readouterr().out


def test_a_bootstrapping_canary_gets_its_first_image_in_one_line(repo: Path) -> None:
    """The runbook's first deploy: `pulumi config set imageRef ""` keeps the line the pin then changes."""
    pin_canary(repo, days_ago=1, ref="")
    assert run(repo, "--image", REF, "--to", "canary") == 0
    assert changed_lines(repo, "Pulumi.canary.yaml") == [
        '-  ensemble-forecast:imageRef: ""', f'+  ensemble-forecast:imageRef: "{REF}"']


@pytest.mark.parametrize("argv, message", [
    (["--from", "canary", "--to", "prod"], "--from canary --to prod is invalid: expected one of --from canary "
                                           "--to limited, --from limited --to prod"),
    (["--image", f"{REPOSITORY_URL}:2026.01.27", "--to", "canary"],
     f"--image='{REPOSITORY_URL}:2026.01.27' is not pinned by digest: expected {IMAGE_REF_FORM}"),
    (["--image", f"ensemble-forecast@{DIGEST}", "--to", "canary"],
     f"--image='ensemble-forecast@{DIGEST}' is invalid: expected {IMAGE_REF_FORM}"),
    (["--image", f"{REPOSITORY_URL}-canary@{DIGEST}", "--to", "canary"],
     "names repository 'ensemble-forecast-canary': every stack runs images from 'ensemble-forecast'"),
    (["--image", REF.replace("us-east-1", "eu-west-1"), "--to", "limited"],
     "is in region eu-west-1: Pulumi.limited.yaml deploys to us-east-1"),
    (["--to", "limited"], "one of the arguments --from --image is required"),
    (["--from", "canary", "--to", "limited", "--min-days", "-1"], "--min-days -1 is invalid: expected 0 or more days"),
])
def test_bad_input_exits_2_with_one_line(repo: Path, argv: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(repo, *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_stack_file_without_exactly_one_image_line_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / "Pulumi.canary.yaml"
    path.write_text(path.read_text() + "  # ensemble-forecast:imageRef: old\n  ensemble-forecast:imageRef: again\n")
    assert run(repo, "--image", REF, "--to", "canary") == 2
    assert "Pulumi.canary.yaml has 2 `ensemble-forecast:imageRef:` lines" in capsys.readouterr().err
