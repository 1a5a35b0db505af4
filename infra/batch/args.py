"""The forecast job's arguments: what runs (the job groups), on which image, task size,
retries, network and schedules, parsed from the stack's config.

Whatever AWS Batch, Fargate or EventBridge would refuse at ``pulumi up`` (or worse, at the first
scheduled run) is refused here first, with one line naming the key and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.batch.jobs import JobGroup, Workload
from infra.values import SettingsError, contract, flag, integer, key_name, require, strings
from jobs.contract import images
from jobs.contract.domain import HORIZONS

_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SG_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
_SCHEDULE_RE = re.compile(r"^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")

# The keys read here, with how Pulumi's config string is decoded.
BATCH_KEYS: dict[str, str] = {
    "imageRef": "str",
    "manageRepository": "bool",
    "symbolsPerTask": "int",
    "retryAttempts": "int",
    "jobTimeoutSeconds": "int",
    "taskVcpu": "float",
    "taskMemoryMiB": "int",
    "maxVcpus": "int",
    "subnetIds": "json",
    "securityGroupIds": "json",
    "logRetentionDays": "int",
    "schedules": "json",
    "schedulesEnabled": "bool",
}
# Defaults equal to Pulumi.yaml's (tests/deploy/test_pulumi_cli_config.py holds the two together).
BATCH_DEFAULTS: dict[str, Any] = {
    "symbolsPerTask": 5, "retryAttempts": 3, "jobTimeoutSeconds": 3600, "taskVcpu": 1.0, "taskMemoryMiB": 4096,
    "maxVcpus": 16, "logRetentionDays": 30, "schedulesEnabled": True, "manageRepository": False,
}

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
class BatchArgs:
    """What ``ForecastJob`` declares: the job groups and how AWS Batch runs and schedules them.

    Attributes:
        stack: The Pulumi stack name; part of every resource name.
        region: The stack's AWS region (``aws:region``), where the job writes its logs.
        tags: Tags put on every taggable resource.
        horizons: Horizons to forecast; one job definition and schedule per group and horizon.
        groups: The job groups (core first).
        image_ref: The job image, ``<registry>/ensemble-forecast@sha256:<digest>``; None while the
            stack bootstraps (no image yet: no job definitions, no schedules).
        manage_repository: Whether this stack declares the image repository every stack shares.
        schedules: Horizon -> EventBridge schedule expression, one per horizon.
        schedules_enabled: Whether the EventBridge rules fire (false once a later phase takes over,
            and while the stack bootstraps).
    """

    stack: str
    region: str
    tags: Mapping[str, str]
    horizons: tuple[str, ...]
    groups: tuple[JobGroup, ...]
    image_ref: str | None
    symbols_per_task: int
    retry_attempts: int
    job_timeout_seconds: int
    task_vcpu: float
    task_memory_mib: int
    max_vcpus: int
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    log_retention_days: int
    schedules: tuple[tuple[str, str], ...]
    schedules_enabled: bool
    manage_repository: bool = False

    @property
    def bootstrapping(self) -> bool:
        """No image yet: the stack declares no job definitions and no schedules."""
        return self.image_ref is None

    def schedule(self, horizon: str) -> str:
        """The schedule expression of ``horizon``."""
        return dict(self.schedules)[horizon]

    def array_size(self, group: JobGroup) -> int:
        """The group's Batch array size: ``ceil(len(symbols) / symbols_per_task)``."""
        return math.ceil(len(group.symbols) / self.symbols_per_task)


def _task_size(values: Mapping[str, Any]) -> tuple[float, int]:
    vcpu = values.get("taskVcpu", BATCH_DEFAULTS["taskVcpu"])
    if isinstance(vcpu, bool) or vcpu not in FARGATE_SIZES:
        shown = f"{vcpu:g}" if isinstance(vcpu, (int, float)) and not isinstance(vcpu, bool) else repr(vcpu)
        raise SettingsError(
            f"{key_name('taskVcpu')}={shown} is invalid: expected one of {', '.join(f'{v:g}' for v in FARGATE_SIZES)}")
    memory = values.get("taskMemoryMiB", BATCH_DEFAULTS["taskMemoryMiB"])
    allowed = fargate_memory_values(float(vcpu))
    if isinstance(memory, bool) or memory not in allowed:
        low, high, step = FARGATE_SIZES[float(vcpu)]
        what = "512, 1024 or 2048" if not step else f"{low} to {high} in steps of {step}"
        raise SettingsError(f"{key_name('taskMemoryMiB')}={memory!r} is invalid for {vcpu:g} vCPU on Fargate: "
                            f"expected {what}")
    return float(vcpu), int(memory)


def parse_batch(values: Mapping[str, Any], workload: Workload, stack: str, region: str,
                tags: Mapping[str, str]) -> BatchArgs:
    """Validate the Batch settings (sizing, retries, network, log retention, schedules) for ``workload``.

    The image pin is the workload's (``parse_image_ref``, which ``infra.stack`` parses first): its
    jobs name it in their environment, and their job definitions run it.
    """
    image = workload.image_ref
    enabled = flag(values, "schedulesEnabled", BATCH_DEFAULTS["schedulesEnabled"])
    if image is None and enabled:
        raise SettingsError(f"{key_name('imageRef')} is required while {key_name('schedulesEnabled')} is true: "
                            "a stack's first deploy sets schedulesEnabled false and no imageRef (docs/runbook.md)")
    vcpu, memory = _task_size(values)
    retention = values.get("logRetentionDays", BATCH_DEFAULTS["logRetentionDays"])
    if retention not in RETENTION_DAYS:
        raise SettingsError(f"{key_name('logRetentionDays')}={retention!r} is invalid: expected one of {RETENTION_DAYS}")
    subnets = strings(values, "subnetIds", _SUBNET_RE, "subnet ids (subnet-...)")
    if not subnets:
        raise SettingsError(f"{key_name('subnetIds')} is empty: Fargate needs at least one subnet")
    groups = strings(values, "securityGroupIds", _SG_RE, "security group ids (sg-...)")
    if not groups:
        # AWS Batch refuses a Fargate compute environment without security groups.
        raise SettingsError(f"{key_name('securityGroupIds')} is empty: Fargate needs at least one security group")
    return BatchArgs(
        stack=stack, region=region, tags=dict(tags), horizons=workload.horizons, groups=workload.groups,
        image_ref=image, manage_repository=flag(values, "manageRepository", BATCH_DEFAULTS["manageRepository"]),
        symbols_per_task=_integer(values, "symbolsPerTask", 1, 1000),
        retry_attempts=_integer(values, "retryAttempts", 1, 10),
        job_timeout_seconds=_integer(values, "jobTimeoutSeconds", 60, 86_400),
        task_vcpu=vcpu, task_memory_mib=memory,
        max_vcpus=_integer(values, "maxVcpus", 1, 4096),
        subnet_ids=subnets, security_group_ids=groups, log_retention_days=retention,
        schedules=_schedules(values, workload.horizons),
        schedules_enabled=enabled,
    )


def parse_image_ref(image: Any, region: str) -> str | None:
    """The stack's image pin, or None when unset (a first deploy, before the image exists).

    The form is the job contract's (``jobs.contract.images``: a digest in the shared repository,
    as ``jobs.promote`` and the workflows write it); the image must be in the stack's region.

    Raises:
        SettingsError: One line naming the value and the one accepted form.
    """
    if image is None:
        return None
    ref = contract(lambda: images.parse_image_ref(key_name("imageRef"), image))
    if ref.region != region:
        raise SettingsError(f"{key_name('imageRef')}={image!r} is in region {ref.region}: the stack runs in {region}")
    return str(ref)


def _integer(values: Mapping[str, Any], key: str, low: int, high: int) -> int:
    return integer(values, key, BATCH_DEFAULTS[key], low, high)


def _schedules(values: Mapping[str, Any], horizons: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    schedules = require(values, "schedules")
    if not isinstance(schedules, dict):
        raise SettingsError(f"{key_name('schedules')}={schedules!r} is invalid: expected a map of horizon to schedule")
    for horizon, expr in schedules.items():
        if horizon not in HORIZONS:
            raise SettingsError(f"{key_name('schedules')} has unknown horizon {horizon!r}; known horizons: {', '.join(HORIZONS)}")
        if not isinstance(expr, str) or not _SCHEDULE_RE.match(expr):
            raise SettingsError(f"{key_name('schedules')}.{horizon}={expr!r} is invalid: expected cron(...) or rate(...)")
    missing = [h for h in horizons if h not in schedules]
    if missing:
        raise SettingsError(f"{key_name('schedules')} has no schedule for horizon(s) {', '.join(missing)}")
    return tuple((h, schedules[h]) for h in horizons)
