"""Service Quotas' answers about the Fargate vCPU quota, for ``jobs.quota_check`` under botocore's Stubber.

moto's Service Quotas implements only the ``vpc`` service, so the API is stubbed with
``botocore.stub.Stubber``, which checks every request and response against the service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.stub import Stubber

QUOTA = {"ServiceCode": "fargate", "QuotaCode": "L-3032A538"}


def quota(value: float) -> dict[str, Any]:
    """A ``GetServiceQuota`` response as AWS sends it."""
    return {"Quota": {**QUOTA, "ServiceName": "AWS Fargate", "QuotaName": "Fargate On-Demand vCPU resource count",
                      "QuotaArn": "arn:aws:servicequotas:us-east-1:123456789012:fargate/L-3032A538",
                      "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False}}


@contextmanager
def stubbed_service_quotas() -> Iterator[tuple[Any, Stubber]]:
    """A real ``service-quotas`` client whose answers are stubbed (no network, no credentials used)."""
    client = botocore.session.get_session().create_client(
        "service-quotas", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()
