"""The quota preflight adds up every stack sharing the account and region while their runs overlap.

Each test edits copies of the real stack files in a fresh git checkout, then runs
``python -m jobs.quota_check`` against a stubbed Service Quotas client (botocore's Stubber:
moto's Service Quotas knows only ``vpc``). Prod's schedules are off unless a test turns them
on, so canary (3 tasks x 1 vCPU at 21:30 on weekdays) and limited (5 tasks x 1 vCPU a run)
make the figures.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber

from jobs import quota_check
from tests.support.service_quotas import QUOTA, quota, stubbed_service_quotas
from tests.support.stacks import ROOT

KEY = "ensemble-forecast:"
IMAGE = "123456789012.dkr.ecr.{region}.amazonaws.com/ensemble-forecast@sha256:" + "44" * 32
ONE_DAILY_RUN = {"1D": "cron(30 21 ? * MON-FRI *)"}


def edit(repo: Path, stack: str, **values: Any) -> None:
    """Set ``ensemble-forecast:<key>`` values (``aws_region`` sets ``aws:region``) in a stack file."""
    path = repo / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in values.items():
        doc["config"]["aws:region" if key == "aws_region" else KEY + key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git checkout with the real stack files; prod's schedules off, limited runs only 1D at 21:30."""
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    edit(tmp_path, "prod", schedulesEnabled=False)
    edit(tmp_path, "limited", horizons=["1D"], schedules=ONE_DAILY_RUN)
    return tmp_path


@pytest.fixture()
def service_quotas() -> Iterator[tuple[Any, Stubber]]:
    """A stubbed ``service-quotas`` client; every queued answer must be asked for."""
    with stubbed_service_quotas() as pair:
        yield pair


def check(service_quotas: tuple[Any, Stubber], repo: Path, value: float | None, *argv: str) -> int:
    """Run the preflight with the quota at ``value`` (None: the quota must not be asked for)."""
    client, stub = service_quotas
    if value is not None:
        stub.add_response("get_service_quota", quota(value), QUOTA)
    return quota_check.main([*argv, "--repo", str(repo)], client=client)


@pytest.mark.parametrize("stack", ["canary", "limited"])
def test_two_stacks_running_at_once_exceed_a_quota_each_fits_alone(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str], stack: str) -> None:
    assert check(service_quotas, repo, 6.0, "--stack", stack) == 3
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith(f"REFUSE {stack}: Fargate On-Demand vCPU resource count (fargate L-3032A538) in us-east-1 "
                          "is 6 vCPU, but limited and canary need 8 at once (peak 8 vCPU at 21:30 UTC on weekdays: "
                          "limited 5 (one 1D run of 5 tasks x 1 vCPU), canary 3 (one 1D run of 3 tasks x 1 vCPU); "
                          "not counted: prod (schedules off)); jobs beyond it wait in RUNNABLE.")
    assert out.rstrip().endswith("--desired-value 8 --region us-east-1")


@pytest.mark.parametrize("stack", ["canary", "limited"])
def test_alone_each_fits(service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str],
                         stack: str) -> None:
    assert check(service_quotas, repo, 6.0, "--stack", stack, "--this-stack-only") == 0
    assert capsys.readouterr().out.startswith(f"OK {stack}: ")


# canary's run may last jobTimeoutSeconds (3600): limited's run an hour or more before it is over.
@pytest.mark.parametrize("schedule, status, need", [
    ("cron(30 20 ? * MON-FRI *)", 0, "canary needs 3 at once (peak 3 vCPU at 21:30 UTC on weekdays: canary 3"),
    ("cron(31 20 ? * MON-FRI *)", 3, "limited and canary need 8 at once (peak 8 vCPU at 21:30 UTC on weekdays"),
    ("cron(30 21 ? * SAT *)", 0, "canary needs 3 at once"),
    ("cron(0 22 ? * FRI *)", 3, "limited and canary need 8 at once (peak 8 vCPU at 22:00 UTC on Fri"),
])
def test_only_runs_that_overlap_add_up(service_quotas: tuple[Any, Stubber], repo: Path,
                                       capsys: pytest.CaptureFixture[str], schedule: str, status: int,
                                       need: str) -> None:
    edit(repo, "limited", schedules={"1D": schedule})
    assert check(service_quotas, repo, 6.0, "--stack", "canary") == status
    assert need in capsys.readouterr().out


@pytest.mark.parametrize("change, reason", [
    ({"aws_region": "eu-west-1", "imageRef": IMAGE.format(region="eu-west-1")}, "limited (in eu-west-1)"),
    ({"imageRef": IMAGE.format(region="us-east-1").replace("123456789012", "210987654321")},
     "limited (in account 210987654321)"),
    ({"schedulesEnabled": False}, "limited (schedules off)"),
    ({"schedulesEnabled": "false"}, "limited (schedules off)"),  # as `pulumi config set` writes it
])
def test_a_stack_elsewhere_or_with_schedules_off_is_not_counted(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str],
        change: dict[str, Any], reason: str) -> None:
    edit(repo, "limited", **change)
    assert check(service_quotas, repo, 6.0, "--stack", "canary") == 0
    out = capsys.readouterr().out
    assert out.startswith("OK canary: ") and "canary needs 3 at once" in out
    assert f"not counted: {reason}, prod (schedules off))" in out


def test_a_stack_whose_account_is_unknown_is_assumed_to_share_and_said(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "limited", imageRef="")
    assert check(service_quotas, repo, 6.0, "--stack", "canary") == 3
    assert "limited 5 (one 1D run of 5 tasks x 1 vCPU; account unknown, assumed to share)" in capsys.readouterr().out


def test_each_stack_is_capped_by_its_own_max_vcpus_with_every_batch_enabled(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "prod", schedulesEnabled=True)
    assert check(service_quotas, repo, 63.0, "--stack", "prod") == 3
    # 4h and 8h at 14:10: prod's 88 capped at 64; at 21:30 prod 44 + limited 5 + canary 3 = 52 is less.
    assert ("but prod needs 64 at once (peak 64 vCPU at 14:10 UTC on weekdays: prod 64 (4h and 8h overlap: 2 runs x "
            "22 tasks x 2 vCPU = 88, capped by maxVcpus 64; all 5 batches enabled); no run then: canary, limited)"
            ) in capsys.readouterr().out


def test_a_stack_with_its_schedules_off_passes_whatever_the_others_need(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "canary", schedulesEnabled=False)  # the handoff: canary stops, limited takes over
    edit(repo, "prod", schedulesEnabled=True)
    assert check(service_quotas, repo, 6.0, "--stack", "canary") == 0
    out = capsys.readouterr().out
    assert out.startswith("OK canary: its schedules are off (schedulesEnabled false), so it starts no job; ")
    assert "not counted: canary (schedules off)" in out


@pytest.mark.parametrize("stack, text, message", [
    ("limited", "config: [unclosed\n", "Pulumi.limited.yaml is not valid YAML: "),
    ("limited", "- just a list\n", "Pulumi.limited.yaml is invalid: expected a mapping with a `config` mapping"),
    ("prod", None, "Pulumi.prod.yaml sets ensemble-forecast:schedulesEnabled='maybe': expected true or false"),
    ("limited", None, "Pulumi.limited.yaml: schedule 'cron(0 12 1 * ? *)' is not supported"),
])
def test_a_stack_file_that_cannot_be_used_is_one_line_naming_it(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str],
        stack: str, text: str | None, message: str) -> None:
    if text is not None:
        (repo / f"Pulumi.{stack}.yaml").write_text(text)
    elif stack == "prod":
        edit(repo, "prod", schedulesEnabled="maybe")
    else:
        edit(repo, "limited", schedules={"1D": "cron(0 12 1 * ? *)"})
    assert check(service_quotas, repo, None, "--stack", "canary") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {message}")


def test_a_phase_without_a_stack_file_is_not_deployed(
        service_quotas: tuple[Any, Stubber], repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "Pulumi.limited.yaml").unlink()
    assert check(service_quotas, repo, 6.0, "--stack", "canary") == 0
    assert "not counted: limited (no Pulumi.limited.yaml), prod (schedules off)" in capsys.readouterr().out
