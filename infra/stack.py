"""One stack: its settings, read once from ``pulumi.Config``, and the components they declare.

Each component parses its own keys into its own frozen args (``infra.batch.args``,
``infra.database.args``, ``infra.monitoring.args``, ``infra.abort.args``); this module only reads the config,
hands each its keys and declares the components. Bad configuration fails with one clear
``SettingsError`` before any resource is declared. No resources at import time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.abort.args import ABORT_KEYS, AbortArgs, parse_abort
from infra.abort.component import AutoAbort
from infra.batch.args import BATCH_KEYS, BatchArgs, parse_batch, parse_image_ref
from infra.batch.component import ForecastJob
from infra.batch.jobs import JOB_KEYS, Workload, parse_workload
from infra.batch.repository import declare_repository, find_repository
from infra.database.args import DATABASE_KEYS, DatabaseArgs, parse_database
from infra.database.component import DatabaseSchema, migration_files
from infra.monitoring.alarms import IMMEDIATE
from infra.monitoring.args import MONITORING_KEYS, MonitoringArgs, parse_monitoring
from infra.monitoring.component import Monitoring
from infra.names import CORE_GROUP, PROJECT
from infra.values import SettingsError, key_name

# Every key the program reads, with how its raw string is decoded. Pulumi.yaml declares
# exactly these keys, each with a default unless every stack file sets it (the Pulumi CLI
# refuses a stack that leaves out a key with no default); no key is a secret.
CONFIG_KEYS: dict[str, str] = {**JOB_KEYS, **BATCH_KEYS, **MONITORING_KEYS, **ABORT_KEYS, **DATABASE_KEYS}
# Keys whose Pulumi.yaml default means "not set": the CLI refuses a key with no default that
# a stack leaves out, so optional keys carry a default, and the program reads it as absent.
UNSET_DEFAULTS: dict[str, Any] = {
    "symbols": [],
    "symbolBatches": [],
    "enabledBatches": 0,
    "canarySymbols": [],
    "dbAdminSecretArn": "",
    "imageRef": "",
    "rollbackDispatchRepository": "",
    "rollbackDispatchTokenSecretArn": "",
}
_KIND_NAMES = {"json": "a YAML list or map", "int": "an integer", "float": "a number", "bool": "true or false"}


@dataclass(frozen=True)
class Settings:
    """Everything one stack declares, validated.

    Attributes:
        stack: The Pulumi stack name (``canary``, ``limited``, ``prod``).
        workload: The phase, symbols, horizons and job groups.
        batch: The forecast job's args (AWS Batch, schedules).
        database: The database component's args.
        monitoring: The monitoring component's args (thresholds, subscriptions, alarm periods).
        abort: The automatic abort's args.
    """

    stack: str
    workload: Workload
    batch: BatchArgs
    database: DatabaseArgs
    monitoring: MonitoringArgs
    abort: AbortArgs

    @property
    def aborts(self) -> bool:
        """Whether the stack declares its automatic abort: ``autoAbort``, and schedules to stop."""
        return self.abort.enabled and not self.batch.bootstrapping


def load_settings(config: pulumi.Config, stack: str | None = None, region: str | None = None) -> Settings:
    """Read every key once from ``config`` and validate it.

    Args:
        config: The project's ``pulumi.Config`` (``pulumi.Config("ensemble-forecast")``).
        stack: The stack name; defaults to ``pulumi.get_stack()``.
        region: The AWS region; defaults to the stack's ``aws:region``.

    Returns:
        The validated settings. Keys holding their "not set" default (``UNSET_DEFAULTS``)
        read as absent.

    Raises:
        SettingsError: One line naming the key, the value and what is allowed.
    """
    values: dict[str, Any] = {}
    for key, kind in CONFIG_KEYS.items():
        raw = config.get(key)
        if raw is not None:
            values[key] = _decode(key, kind, raw)
    return parse_settings(drop_unset(values), stack or pulumi.get_stack(),
                          region or pulumi.Config("aws").require("region"))


def drop_unset(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the keys that hold their "not set" default (``UNSET_DEFAULTS``)."""
    return {k: v for k, v in values.items() if not (k in UNSET_DEFAULTS and v == UNSET_DEFAULTS[k]
                                                     and type(v) is type(UNSET_DEFAULTS[k]))}


def parse_settings(values: Mapping[str, Any], stack: str, region: str) -> Settings:
    """Validate decoded config ``values`` (key -> YAML-like value) for ``stack`` in ``region``.

    Raises:
        SettingsError: One line naming the key, the value and what is allowed.
    """
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError(f"{key_name(unknown[0])} is not a known setting; known: {', '.join(CONFIG_KEYS)}")
    workload = parse_workload(values, stack, parse_image_ref(values.get("imageRef"), region))
    tags = {"service": PROJECT, "stack": stack, "phase": workload.phase}
    batch = parse_batch(values, workload, stack, region, tags)
    return Settings(stack=stack, workload=workload, batch=batch, database=parse_database(values, tags),
                    monitoring=parse_monitoring(values, batch, workload.thresholds), abort=parse_abort(values, batch))


def build_stack(settings: Settings) -> dict[str, pulumi.Output | object]:
    """Declare the image repository, the database, the forecast job, its monitoring and its abort;
    return the stack outputs.

    Args:
        settings: Validated settings from ``load_settings``.

    Returns:
        Output name -> value, for ``pulumi.export``. Includes what a one-off regenerate job
        needs (queue ARN and name, job definition ARNs per horizon) and the rollout summary.
    """
    # One stack (canary) owns the shared roles, schema, migrations and DATABASE_URL secret; the
    # others only reuse them, finding the secret by name (so no stack file holds its ARN).
    db = settings.database
    if db.manage:
        database = DatabaseSchema("database", db)
        secret_arn, after = database.url_secret.arn, [database]
    else:
        secret = aws.secretsmanager.get_secret_output(name=db.url_secret_name)
        secret_arn, after = secret.arn, []
    workload, batch, abort = settings.workload, settings.batch, settings.abort
    # One repository for every stack; the owning stack (canary) declares it, the others find it.
    repository = declare_repository(batch.tags) if batch.manage_repository else find_repository()
    job = ForecastJob("forecast", batch, secret_arn, repository, opts=pulumi.ResourceOptions(depends_on=after))
    monitoring = Monitoring("monitoring", settings.monitoring, job_queue_arns=(job.queue.arn,),
                            notify_rules=(abort.notify_rule_name,) if settings.aborts else ())
    schedules: dict[str, dict[str, aws.cloudwatch.EventRule]] = {}
    definitions: dict[str, dict[str, pulumi.Output[str]]] = {}
    for scheduled in job.jobs:
        definitions.setdefault(scheduled.group.name, {})[scheduled.horizon] = scheduled.definition.arn
        schedules.setdefault(scheduled.horizon, {})[scheduled.group.name] = scheduled.rule
    if settings.aborts:
        AutoAbort("abort", abort, monitoring.rollback_alarm.arn, monitoring.topics[IMMEDIATE].arn, schedules)
    return {
        "rolloutPhase": workload.phase,
        "symbols": list(workload.symbols),
        "horizons": list(workload.horizons),
        "jobGroups": {
            g.name: {"models": [m.value for m in g.models], "symbols": list(g.symbols), "arraySize": batch.array_size(g)}
            for g in workload.groups
        },
        "jobQueueArn": job.queue.arn,
        "jobQueueName": job.queue.name,
        "jobDefinitionArns": definitions.get(CORE_GROUP, {}),
        "highValueJobDefinitionArns": definitions.get("high-value", {}),
        "repositoryUrl": repository.url,
        "imageRef": batch.image_ref or "",
        "logGroupName": job.log_group.name,
        "databaseSecretArn": job.secret_arn,
        "manageDatabase": db.manage,
        "schedulesEnabled": batch.schedules_enabled,
        "autoAbort": settings.aborts,
        "migrations": [m.name for m in migration_files()] if db.manage else [],
    }


def _decode(key: str, kind: str, raw: str) -> Any:
    # Pulumi hands every config value over as a string; structured values arrive as JSON.
    try:
        if kind == "json":
            return json.loads(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.strip().lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.strip().lower() == "true"
    except ValueError:
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected {_KIND_NAMES[kind]}") from None
    return raw
