"""AWS Batch on Fargate: the image pin, task size, retries and network of the forecast job.

Whatever AWS Batch or Fargate would refuse at ``pulumi up`` (or worse, at the first scheduled
run) is refused here first, with one line naming the key and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.settings_common import (
    DEFAULTS,
    SettingsError,
    integer,
    key_name,
    require,
    strings,
)

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SG_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")

GIB = 1024
# Fargate's task sizes (AWS ECS developer guide, "Task CPU and memory"; AWS Batch uses the same
# table for VCPU/MEMORY resourceRequirements): vCPU -> (lowest MiB, highest MiB, step MiB).
FARGATE_SIZES: dict[float, tuple[int, int, int]] = {
    0.25: (512, 2 * GIB, 0),  # exactly 512 MiB, 1 GiB or 2 GiB (see fargate_memory_values)
    0.5: (1 * GIB, 4 * GIB, 1 * GIB),
    1.0: (2 * GIB, 8 * GIB, 1 * GIB),
    2.0: (4 * GIB, 16 * GIB, 1 * GIB),
    4.0: (8 * GIB, 30 * GIB, 1 * GIB),
    8.0: (16 * GIB, 60 * GIB, 4 * GIB),
    16.0: (32 * GIB, 120 * GIB, 8 * GIB),
}

# CloudWatch Logs accepts only these retention periods.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)


def fargate_memory_values(vcpu: float) -> tuple[int, ...]:
    """Every memory size (MiB) Fargate accepts for ``vcpu``."""
    if vcpu == 0.25:
        return (512, 1 * GIB, 2 * GIB)
    low, high, step = FARGATE_SIZES[vcpu]
    return tuple(range(low, high + 1, step))


@dataclass(frozen=True)
class BatchSettings:
    """AWS Batch: image, sizing, retries and network of the forecast job."""

    image_ref: str
    symbols_per_task: int
    retry_attempts: int
    job_timeout_seconds: int
    task_vcpu: float
    task_memory_mib: int
    max_vcpus: int
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    log_retention_days: int

    def image_suffix(self) -> str:
        """``@sha256:...`` for a digest, ``:<tag>`` for a tag, to append to the repository URL."""
        return f"@{self.image_ref}" if self.image_ref.startswith("sha256:") else f":{self.image_ref}"


def _task_size(values: Mapping[str, Any]) -> tuple[float, int]:
    vcpu = values.get("taskVcpu", DEFAULTS.task_vcpu)
    if isinstance(vcpu, bool) or vcpu not in FARGATE_SIZES:
        shown = f"{vcpu:g}" if isinstance(vcpu, (int, float)) and not isinstance(vcpu, bool) else repr(vcpu)
        raise SettingsError(
            f"{key_name('taskVcpu')}={shown} is invalid: expected one of {', '.join(f'{v:g}' for v in FARGATE_SIZES)}")
    memory = values.get("taskMemoryMiB", DEFAULTS.task_memory_mib)
    allowed = fargate_memory_values(float(vcpu))
    if isinstance(memory, bool) or memory not in allowed:
        low, high, step = FARGATE_SIZES[float(vcpu)]
        what = "512, 1024 or 2048" if not step else f"{low} to {high} in steps of {step}"
        raise SettingsError(f"{key_name('taskMemoryMiB')}={memory!r} is invalid for {vcpu:g} vCPU on Fargate: "
                            f"expected {what}")
    return float(vcpu), int(memory)


def parse_batch(values: Mapping[str, Any]) -> BatchSettings:
    """Validate the Batch settings (image pin, sizing, retries, network, log retention)."""
    image = require(values, "imageRef")
    if not isinstance(image, str) or not (_DIGEST_RE.match(image) or (_TAG_RE.match(image) and image != "latest")):
        raise SettingsError(
            f"{key_name('imageRef')}={image!r} is invalid: expected sha256:<64 hex> or an immutable tag (not 'latest')"
        )
    vcpu, memory = _task_size(values)
    retention = values.get("logRetentionDays", DEFAULTS.log_retention_days)
    if retention not in RETENTION_DAYS:
        raise SettingsError(f"{key_name('logRetentionDays')}={retention!r} is invalid: expected one of {RETENTION_DAYS}")
    subnets = strings(values, "subnetIds", _SUBNET_RE, "subnet ids (subnet-...)")
    if not subnets:
        raise SettingsError(f"{key_name('subnetIds')} is empty: Fargate needs at least one subnet")
    groups = strings(values, "securityGroupIds", _SG_RE, "security group ids (sg-...)")
    if not groups:
        # AWS Batch refuses a Fargate compute environment without security groups.
        raise SettingsError(f"{key_name('securityGroupIds')} is empty: Fargate needs at least one security group")
    return BatchSettings(
        image_ref=image,
        symbols_per_task=integer(values, "symbolsPerTask", DEFAULTS.symbols_per_task, 1, 1000),
        retry_attempts=integer(values, "retryAttempts", DEFAULTS.retry_attempts, 1, 10),
        job_timeout_seconds=integer(values, "jobTimeoutSeconds", DEFAULTS.job_timeout_seconds, 60, 86_400),
        task_vcpu=vcpu, task_memory_mib=memory,
        max_vcpus=integer(values, "maxVcpus", DEFAULTS.max_vcpus, 1, 4096),
        subnet_ids=subnets, security_group_ids=groups, log_retention_days=retention,
    )
