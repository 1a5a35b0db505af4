"""``python -m jobs.quota_check``: the Fargate vCPU quota against the stack's peak, with botocore's Stubber.

moto's Service Quotas implements only the ``vpc`` service, so the API is stubbed with
``botocore.stub.Stubber``, which checks every request and response against the service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from jobs import quota_check
from tests.support.stacks import ROOT

QUOTA = {"ServiceCode": "fargate", "QuotaCode": "L-3032A538"}


def quota(value: float) -> dict[str, Any]:
    """A ``GetServiceQuota`` response as AWS sends it."""
    return {"Quota": {**QUOTA, "ServiceName": "AWS Fargate", "QuotaName": "Fargate On-Demand vCPU resource count",
                      "QuotaArn": "arn:aws:servicequotas:us-east-1:123456789012:fargate/L-3032A538",
                      "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False}}


@pytest.fixture()
def service_quotas() -> Iterator[tuple[Any, Stubber]]:
    """A real ``service-quotas`` client whose answers are stubbed (no network, no credentials used)."""
    client = botocore.session.get_session().create_client(
        "service-quotas", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def run(client: Any, *argv: str) -> int:
    return quota_check.main([*argv, "--repo", str(ROOT)], client=client)


def test_the_default_new_account_quota_refuses_prod_in_one_line(
        service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(6.0), QUOTA)
    assert run(client, "--stack", "prod") == 3
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
def test_the_quota_must_hold_the_peak(service_quotas: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str],
                                      stack: str, value: float, status: int) -> None:
    client, stub = service_quotas
    stub.add_response("get_service_quota", quota(value), QUOTA)
    assert run(client, "--stack", stack) == status
    assert capsys.readouterr().out.startswith(("OK " if status == 0 else "REFUSE ") + stack)


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
