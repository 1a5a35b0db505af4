"""Preflight: does the account's Fargate On-Demand vCPU quota hold the stack's peak?

Fargate counts every running task's vCPU against one quota per account and region, "Fargate
On-Demand vCPU resource count" (Service Quotas: service ``fargate``, quota ``L-3032A538``).
New accounts may start as low as 6 vCPU. Over it, Batch jobs wait in RUNNABLE without an
error, so forecasts arrive late or not at all. The check reads the value applied to the
account (``GetServiceQuota``; AWS's default only when no value is applied) and compares it
with what the stacks sharing the account and region hold at once (``jobs.rollout.shared``), or
with one stack's own peak (``jobs.rollout.capacity.peak_vcpu``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

SERVICE_CODE = "fargate"
QUOTA_CODE = "L-3032A538"
QUOTA_NAME = "Fargate On-Demand vCPU resource count"


class QuotaUnavailable(RuntimeError):
    """The quota could not be read (credentials, permissions, network); the message says which."""


@dataclass(frozen=True)
class Quota:
    """The quota's value and where it came from (``applied`` to the account, or AWS's ``default``)."""

    value: float
    source: str


def fargate_vcpu_quota(client: Any) -> Quota:
    """Read the quota with a ``service-quotas`` client (boto3) in the stack's region."""
    args = {"ServiceCode": SERVICE_CODE, "QuotaCode": QUOTA_CODE}
    try:
        try:
            return Quota(float(client.get_service_quota(**args)["Quota"]["Value"]), "applied")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchResourceException":
                raise
            return Quota(float(client.get_aws_default_service_quota(**args)["Quota"]["Value"]), "default")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise QuotaUnavailable(f"could not read the {QUOTA_NAME} quota ({SERVICE_CODE} {QUOTA_CODE}): "
                               f"{error.get('Code')}: {error.get('Message')} (the caller needs "
                               "servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota)") from None
    except BotoCoreError as exc:
        raise QuotaUnavailable(f"could not read the {QUOTA_NAME} quota ({SERVICE_CODE} {QUOTA_CODE}): {exc}") from None


@dataclass(frozen=True)
class QuotaCheck:
    """The preflight's answer: ``ok`` and one line saying why."""

    ok: bool
    line: str


class Need(Protocol):
    """What the quota must hold: one stack's peak (``capacity.Peak``) or the shared one (``shared.SharedPeak``)."""

    @property
    def stack(self) -> str:
        """The stack being deployed."""

    @property
    def vcpu(self) -> float:
        """The vCPU needed at once."""

    @property
    def starts_jobs(self) -> bool:
        """False when the stack being deployed has its schedules off: its deploy adds nothing."""

    def needs(self) -> str:
        """``<stacks> need<s> <vcpu> ... (<why>)``."""


def check_quota(peak: Need, quota: Quota, region: str) -> QuotaCheck:
    """Compare the need with the quota; a refusal says how to request the increase.

    A stack whose schedules are off passes whatever the others need: its deploy starts no job,
    and it may be the very change (the handoff) that brings the total under the quota.
    """
    source = "" if quota.source == "applied" else " (AWS's default: no value is applied to this account)"
    have = f"{QUOTA_NAME} ({SERVICE_CODE} {QUOTA_CODE}) in {region} is {quota.value:g} vCPU{source}"
    need = peak.needs()
    if not peak.starts_jobs:
        return QuotaCheck(True, f"OK {peak.stack}: its schedules are off (schedulesEnabled false), so it starts no "
                                f"job; {have}; {need}")
    if quota.value >= peak.vcpu:
        return QuotaCheck(True, f"OK {peak.stack}: {have}; {need}")
    request = (f"aws service-quotas request-service-quota-increase --service-code {SERVICE_CODE} "
               f"--quota-code {QUOTA_CODE} --desired-value {peak.vcpu:g} --region {region}")
    return QuotaCheck(False, f"REFUSE {peak.stack}: {have}, but {need}; jobs beyond it wait in RUNNABLE. "
                             f"Request an increase and deploy once it is granted: {request}")
