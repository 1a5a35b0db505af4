"""``python -m jobs.quota_check``: the Fargate vCPU quota against the stacks' peak, with botocore's Stubber.

The real stack files all have their schedules on in us-east-1 of one account, so by default
each is checked with the others (``tests/unit/test_quota_shared.py`` varies the files).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from jobs import quota_check
from tests.support.service_quotas import QUOTA, quota, stubbed_service_quotas
from tests.support.stacks import ROOT


@pytest.fixture()
def service_quotas() -> Iterator[tuple[Any, Stubber]]:
    """A stubbed ``service-quotas`` client; every queued answer must be asked for."""
    with stubbed_service_quotas() as pair:
        yield pair


def run(client: Any, *argv: str) -> int:
    return quota_check.main([*argv, "--repo", str(ROOT)], client=client)


def test_the_default_new_account_quota_refuses_prod_alone_in_one_line(
        service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(6.0), QUOTA)
    assert run(client, "--stack", "prod", "--this-stack-only") == 3
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("REFUSE prod: Fargate On-Demand vCPU resource count (fargate L-3032A538) in us-east-1 is "
                          "6 vCPU, but prod needs 64 at its peak (4h and 8h overlap: 2 runs x 22 tasks x 2 vCPU = 88, "
                          "capped by maxVcpus 64; all 5 batches enabled (enabledBatches 1 needs 24))")
    assert out.rstrip().endswith("aws service-quotas request-service-quota-increase --service-code fargate "
                                 "--quota-code L-3032A538 --desired-value 64 --region us-east-1")


@pytest.mark.parametrize("stack, value, status", [
    ("canary", 6.0, 0), ("limited", 6.0, 3), ("limited", 10.0, 0), ("prod", 63.0, 3), ("prod", 64.0, 0),
])
def test_the_quota_must_hold_the_stacks_own_peak(service_quotas: tuple[Any, Stubber],
                                                 capsys: pytest.CaptureFixture[str],
                                                 stack: str, value: float, status: int) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(value), QUOTA)
    assert run(client, "--stack", stack, "--this-stack-only") == status
    assert capsys.readouterr().out.startswith(("OK " if status == 0 else "REFUSE ") + stack)


# While canary runs (21:30 on weekdays) limited's and prod's 1D runs do too: 3 + 5 + 44. At
# 14:10 limited's and prod's 4h and 8h runs overlap: 10 + 64 (capped), canary idle.
@pytest.mark.parametrize("stack, value, status", [
    ("canary", 51.0, 3), ("canary", 52.0, 0), ("limited", 73.0, 3), ("limited", 74.0, 0), ("prod", 74.0, 0),
])
def test_by_default_the_quota_must_hold_every_stack_running_with_it(
        service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str],
        stack: str, value: float, status: int) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(value), QUOTA)
    assert run(client, "--stack", stack) == status
    assert capsys.readouterr().out.startswith(("OK " if status == 0 else "REFUSE ") + stack)


def test_the_real_stacks_peak_names_each_share(service_quotas: tuple[Any, Stubber],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(64.0), QUOTA)
    assert run(client, "--stack", "prod") == 3
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert ("but prod and limited need 74 at once (peak 74 vCPU at 14:10 UTC on weekdays: prod 64 (4h and 8h "
            "overlap: 2 runs x 22 tasks x 2 vCPU = 88, capped by maxVcpus 64; all 5 batches enabled), limited 10 "
            "(4h and 8h overlap: 2 runs x 5 tasks x 1 vCPU); no run then: canary); jobs beyond it wait") in out
    assert "--desired-value 74 --region us-east-1" in out


def test_without_an_applied_value_aws_default_is_read_and_said(
        service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = service_quotas
    stub.add_client_error("get_service_quota", "NoSuchResourceException", "not applied", expected_params=QUOTA)
    stub.add_response("get_aws_default_service_quota", quota(4000.0), QUOTA)
    assert run(client, "--stack", "prod") == 0
    assert "is 4000 vCPU (AWS's default: no value is applied to this account)" in capsys.readouterr().out


def test_an_unreadable_quota_exits_1_naming_the_permission(
        service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = service_quotas
    stub.add_client_error("get_service_quota", "AccessDeniedException", "not authorized", expected_params=QUOTA)
    assert run(client, "--stack", "prod") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "AccessDeniedException: not authorized" in err
    assert "servicequotas:GetServiceQuota" in err


def test_bad_input_exits_2_before_asking_aws(service_quotas: tuple[Any, Stubber],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = service_quotas  # no response queued: a call would fail the Stubber
    assert run(client, "--stack", "staging") == 2
    assert "argument --stack: invalid choice: 'staging'" in capsys.readouterr().err
