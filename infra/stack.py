"""Declare every component of one stack from its settings; no resources at import time."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.batch import ForecastJob
from infra.database import DatabaseSchema, migration_files
from infra.monitoring import Monitoring, monitoring_args
from infra.settings import Settings


def build_stack(settings: Settings) -> dict[str, pulumi.Output | object]:
    """Declare the database, the forecast job and its monitoring; return the stack outputs.

    Args:
        settings: Validated settings from ``infra.settings.load_settings``.

    Returns:
        Output name -> value, for ``pulumi.export``. Includes what a one-off regenerate job
        needs (queue ARN and name, job definition ARNs per horizon) and the rollout summary.
    """
    # One stack (canary) owns the shared roles, schema, migrations and DATABASE_URL secret; the
    # others only reuse them, finding the secret by name (so no stack file holds its ARN).
    db = settings.database
    if db.manage:
        database = DatabaseSchema("database", db, settings.tags)
        secret_arn, after = database.url_secret.arn, [database]
    else:
        secret = aws.secretsmanager.get_secret_output(name=db.url_secret_name)
        secret_arn, after = secret.arn, []
    job = ForecastJob("forecast", settings, secret_arn, opts=pulumi.ResourceOptions(depends_on=after))
    Monitoring("monitoring", monitoring_args(settings, job.queue.arn))
    definitions: dict[str, dict[str, pulumi.Output[str]]] = {}
    for scheduled in job.jobs:
        definitions.setdefault(scheduled.group.name, {})[scheduled.horizon] = scheduled.definition.arn
    return {
        "rolloutPhase": settings.phase,
        "symbols": list(settings.symbols),
        "horizons": list(settings.horizons),
        "jobGroups": {
            g.name: {"models": [m.value for m in g.models], "symbols": list(g.symbols), "arraySize": g.array_size}
            for g in settings.groups
        },
        "jobQueueArn": job.queue.arn,
        "jobQueueName": job.queue.name,
        "jobDefinitionArns": definitions["core"],
        "highValueJobDefinitionArns": definitions.get("high-value", {}),
        "repositoryUrl": job.repository.repository_url,
        "logGroupName": job.log_group.name,
        "databaseSecretArn": job.secret_arn,
        "manageDatabase": settings.database.manage,
        "schedulesEnabled": settings.monitoring.schedules_enabled,
        "migrations": [m.name for m in migration_files()] if settings.database.manage else [],
    }
