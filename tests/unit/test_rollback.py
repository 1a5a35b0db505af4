"""Rollback plan from a real git history of a stack file; the printed Batch commands run against stubs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from jobs import rollback
from jobs.rollout.rollback import regenerate_commands

LEGACY = "config:\n  ensemble-forecast:rolloutPhase: canary\n  ensemble-forecast:models: [LSTM, ARIMA_GARCH, GB, RF]\n"
TWO_MODEL = "config:\n  ensemble-forecast:rolloutPhase: canary\n  ensemble-forecast:models: [LSTM, ARIMA_GARCH]\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    commit(tmp_path, "Pulumi.canary.yaml", LEGACY, "canary: legacy 4-model")
    commit(tmp_path, "README.md", "hello\n", "docs")
    commit(tmp_path, "Pulumi.canary.yaml", TWO_MODEL, "canary: 2-model ensemble")
    commit(tmp_path, "Pulumi.prod.yaml", TWO_MODEL.replace("canary", "prod"), "prod: first")
    return tmp_path


def test_shows_the_version_before_the_last_change_and_the_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rollback.main(["--stack", "canary", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    legacy_sha = git(repo, "log", "--format=%H", "-n", "1", "HEAD~3").strip()
    assert f"previous {legacy_sha[:10]}" in out and "canary: legacy 4-model" in out
    assert "current  " in out and "canary: 2-model ensemble" in out
    previous = out.split("--- previous Pulumi.canary.yaml")[1].split("--- diff")[0]
    assert "ensemble-forecast:models: [LSTM, ARIMA_GARCH, GB, RF]" in previous
    diff = out.split("--- diff previous")[1].split("Steps:")[0]
    assert "-  ensemble-forecast:models: [LSTM, ARIMA_GARCH, GB, RF]" in diff
    assert "+  ensemble-forecast:models: [LSTM, ARIMA_GARCH]" in diff
    assert f"git show {legacy_sha}:Pulumi.canary.yaml > Pulumi.canary.yaml" in out
    assert 'pulumi up --stack "$PULUMI_ORG/canary"' in out
    assert 'pulumi stack output jobQueueArn --stack "$PULUMI_ORG/canary"' in out
    assert 'pulumi stack output jobDefinitionArns --stack "$PULUMI_ORG/canary" --json' in out
    assert "highValueJobDefinitionArns" not in out
    assert "warning" not in out


def test_uncommitted_edits_are_flagged(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "Pulumi.canary.yaml").write_text(TWO_MODEL + "  extra: 1\n")
    assert rollback.main(["--stack", "canary", "--repo", str(repo)]) == 0
    assert "warning: Pulumi.canary.yaml has uncommitted changes" in capsys.readouterr().out


def test_single_version_has_nothing_to_roll_back_to(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rollback.main(["--stack", "prod", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Pulumi.prod.yaml has a single committed version" in err


@pytest.mark.parametrize("argv, message", [
    (["--stack", "staging"], "git has no committed Pulumi.staging.yaml; stack files: Pulumi.canary.yaml, Pulumi.prod.yaml"),
    (["--stack", "Canary;rm"], "expected a stack name such as canary, limited or prod"),
    ([], "the following arguments are required: --stack"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], message: str, repo: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert rollback.main([*argv, "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_outside_git_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rollback.main(["--stack", "canary", "--repo", str(tmp_path)]) == 2
    assert "expected a folder inside a git checkout" in capsys.readouterr().err


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the printed commands use jq")
@pytest.mark.parametrize("stack, expected", [
    ("canary", {"1D": "arn:def-1d"}),
    ("prod", {"1D": "arn:def-1d", "4h": "arn:def-4h", "high-value-8h": "arn:hv-8h"}),
])
def test_regenerate_commands_submit_one_job_per_definition(stack: str, expected: dict[str, str],
                                                           tmp_path: Path) -> None:
    outputs = {"jobQueueArn": "arn:queue", "jobDefinitionArns": {"1D": "arn:def-1d"},
               "highValueJobDefinitionArns": {"8h": "arn:hv-8h"}}
    if stack == "prod":
        outputs["jobDefinitionArns"] = {"1D": "arn:def-1d", "4h": "arn:def-4h"}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    log = tmp_path / "aws.log"
    # Stub CLIs: pulumi prints the named output from outputs.json, aws records its arguments.
    # It also refuses any stack but the organisation's (stacks are <PULUMI_ORG>/<stack>).
    _stub(tmp_path, "pulumi", f"[ \"$5\" = acme/{stack} ] || exit 9\nname=$3\njq -r --arg n \"$name\" 'if (.[$n]|type)==\"string\" then .[$n] "
                              f"else (.[$n]|tojson) end' {tmp_path}/outputs.json\n")
    _stub(tmp_path, "aws", f'echo "$@" >> {log}\n')
    script = "set -eu\n" + "\n".join(regenerate_commands(stack)) + "\n"
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "PULUMI_ORG": "acme"}
    subprocess.run(["sh", "-c", script], check=True, env=env, capture_output=True, text=True)
    calls = log.read_text().splitlines()
    assert len(calls) == len(expected)
    for horizon, arn in expected.items():
        [call] = [c for c in calls if f"--job-definition {arn}" in c]
        assert call.startswith(f"batch submit-job --job-name rollback-{stack}-{horizon}-")
        assert "--job-queue arn:queue" in call and "--array-properties" not in call
