"""Parts of the stack settings: canonical defaults, batch, database and monitoring settings.

``infra.settings`` assembles these into one ``Settings``; the monitoring component reads
``MonitoringSettings`` and the batch and database components read theirs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import pulumi

from jobs.contract.config import (
    DEFAULT_MODEL_SETS,
    HORIZONS,
    ConfigError,
    JobConfig,
    Model,
    parse_symbols,
    parse_threshold,
)
from jobs.contract.thresholds import ENV_VARS, Thresholds

PROJECT = "ensemble-forecast"


class SettingsError(ValueError):
    """Bad stack configuration: one line naming the key, the value and what is allowed."""


@dataclass(frozen=True)
class Defaults:
    """The canonical default values, in one place (the rollout document's numbers).

    Divergence thresholds and job behaviour come from ``jobs.contract.config.JobConfig``'s own
    defaults, so the job and the stack share them.
    """

    job: JobConfig = field(default_factory=JobConfig)
    high_value_models: tuple[Model, ...] = DEFAULT_MODEL_SETS[3]
    # The legacy ensemble scored on the same windows, for "RMSE vs baseline" (alarms, review).
    baseline_models: tuple[Model, ...] = DEFAULT_MODEL_SETS[4]
    symbols_per_task: int = 5
    retry_attempts: int = 3
    job_timeout_seconds: int = 3600
    task_vcpu: float = 1.0
    task_memory_mib: int = 4096
    max_vcpus: int = 16
    log_retention_days: int = 30
    db_port: int = 5432
    db_schema: str = "forecast"
    db_ssl_mode: str = "require"
    db_job_role: str = "forecast_job"
    db_migration_role: str = "forecast_migrator"


DEFAULTS = Defaults()

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SG_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")
_SCHEDULE_RE = re.compile(r"^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Fargate's valid vCPU sizes and the memory range each allows (MiB).
_FARGATE_MEMORY: dict[float, tuple[int, int]] = {
    0.25: (512, 2048), 0.5: (1024, 4096), 1.0: (2048, 8192), 2.0: (4096, 16384),
    4.0: (8192, 30720), 8.0: (16384, 61440), 16.0: (32768, 122880),
}
_SSL_MODES = ("disable", "require", "verify-ca", "verify-full")


def key_name(key: str) -> str:
    """The fully qualified config key as ``pulumi config`` shows it."""
    return f"{PROJECT}:{key}"


def require(values: Mapping[str, Any], key: str) -> Any:
    """The value of a required key, or a ``SettingsError`` naming it."""
    if key not in values:
        raise SettingsError(f"{key_name(key)} is required but not set (pulumi config set {key} ...)")
    return values[key]


def parse_symbol_list(key: str, raw: Any, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a YAML list of symbols with ``jobs.contract.config.parse_symbols``."""
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected a list of ticker strings")
    if not raw:
        if allow_empty:
            return ()
        raise SettingsError(f"{key_name(key)} is empty: list at least one symbol")
    for sym in raw:
        if "," in sym or sym != sym.strip():
            # parse_symbols reads a comma-separated string: a list item must hold one ticker.
            raise SettingsError(f"{key_name(key)}: {sym!r} is not a ticker (one symbol per list item)")
    try:
        return parse_symbols(key_name(key), ",".join(raw))
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def _int(values: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected an integer from {low} to {high}")
    return value


def fraction(values: Mapping[str, Any], key: str, default: float) -> float:
    """A fraction in (0, 1], validated by ``jobs.contract.config.parse_threshold``."""
    value = values.get(key, default)
    try:
        return parse_threshold(key_name(key), str(value))
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def _strings(values: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    raw = values.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(s, str) and pattern.match(s) for s in raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected a list of {what}")
    if len(set(raw)) != len(raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: duplicate entries")
    return tuple(raw)


def _string(values: Mapping[str, Any], key: str, default: str | None, pattern: re.Pattern[str], what: str) -> str:
    value = values.get(key, default) if default is not None else require(values, key)
    if not isinstance(value, str) or not pattern.match(value):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected {what}")
    return value


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


# CloudWatch Logs accepts only these retention periods.
_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def parse_batch(values: Mapping[str, Any]) -> BatchSettings:
    """Validate the Batch settings (image pin, sizing, retries, network, log retention)."""
    image = require(values, "imageRef")
    if not isinstance(image, str) or not (_DIGEST_RE.match(image) or (_TAG_RE.match(image) and image != "latest")):
        raise SettingsError(
            f"{key_name('imageRef')}={image!r} is invalid: expected sha256:<64 hex> or an immutable tag (not 'latest')"
        )
    vcpu = values.get("taskVcpu", DEFAULTS.task_vcpu)
    memory = _int(values, "taskMemoryMiB", DEFAULTS.task_memory_mib, 512, 122_880)
    if vcpu not in _FARGATE_MEMORY:
        raise SettingsError(f"{key_name('taskVcpu')}={vcpu!r} is invalid: expected one of {', '.join(map(str, _FARGATE_MEMORY))}")
    low, high = _FARGATE_MEMORY[vcpu]
    if not low <= memory <= high or (memory % 1024 and memory != 512):
        raise SettingsError(f"{key_name('taskMemoryMiB')}={memory} is invalid for {vcpu} vCPU on Fargate: expected {low} to {high} in GiB steps")
    retention = values.get("logRetentionDays", DEFAULTS.log_retention_days)
    if retention not in _RETENTION_DAYS:
        raise SettingsError(f"{key_name('logRetentionDays')}={retention!r} is invalid: expected one of {_RETENTION_DAYS}")
    subnets = _strings(values, "subnetIds", _SUBNET_RE, "subnet ids (subnet-...)")
    if not subnets:
        raise SettingsError(f"{key_name('subnetIds')} is empty: Fargate needs at least one subnet")
    return BatchSettings(
        image_ref=image,
        symbols_per_task=_int(values, "symbolsPerTask", DEFAULTS.symbols_per_task, 1, 1000),
        retry_attempts=_int(values, "retryAttempts", DEFAULTS.retry_attempts, 1, 10),
        job_timeout_seconds=_int(values, "jobTimeoutSeconds", DEFAULTS.job_timeout_seconds, 60, 86_400),
        task_vcpu=float(vcpu), task_memory_mib=memory,
        max_vcpus=_int(values, "maxVcpus", DEFAULTS.max_vcpus, 1, 4096),
        subnet_ids=subnets,
        security_group_ids=_strings(values, "securityGroupIds", _SG_RE, "security group ids (sg-...)"),
        log_retention_days=retention,
    )


@dataclass(frozen=True)
class DatabaseSettings:
    """The database: where it is, its roles, and the two secrets (as secret Outputs only).

    ``manage`` says whether this stack declares the roles, schema, grants and migrations.
    All stacks share one database, so exactly one stack (canary) may own them; the others
    only hand the job its ``databaseUrl`` and need no admin password.
    """

    manage: bool
    host: str
    port: int
    name: str
    schema: str
    ssl_mode: str
    admin_user: str | None
    job_role: str
    migration_role: str
    admin_password: pulumi.Output[str] | None = field(repr=False)
    job_url: pulumi.Output[str] = field(repr=False)
    job_password: pulumi.Output[str] = field(repr=False)


def parse_database(values: Mapping[str, Any]) -> DatabaseSettings:
    """Validate the database settings; check ``databaseUrl`` without ever echoing it."""
    host = _string(values, "dbHost", None, re.compile(r"^[A-Za-z0-9.\-]+$"), "a host name")
    job_role = _string(values, "dbJobRole", DEFAULTS.db_job_role, _IDENT_RE, "a lower-case PostgreSQL identifier")
    url = require(values, "databaseUrl")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("postgresql", "postgres") or not parts.password:
        raise SettingsError(f"{key_name('databaseUrl')} is invalid: expected postgresql://{job_role}:<password>@host/db")
    if unquote(parts.username or "") != job_role:
        raise SettingsError(f"{key_name('databaseUrl')} is invalid: its user must be the job role {job_role!r}")
    manage = flag(values, "manageDatabase", False)
    # Only the stack that owns the roles connects as the admin user.
    admin_password = require(values, "dbAdminPassword") if manage else values.get("dbAdminPassword")
    ssl = values.get("dbSslMode", DEFAULTS.db_ssl_mode)
    if ssl not in _SSL_MODES:
        raise SettingsError(f"{key_name('dbSslMode')}={ssl!r} is invalid: expected one of {', '.join(_SSL_MODES)}")
    return DatabaseSettings(
        manage=manage, host=host, port=_int(values, "dbPort", DEFAULTS.db_port, 1, 65_535),
        name=_string(values, "dbName", None, _IDENT_RE, "a lower-case PostgreSQL identifier"),
        schema=_string(values, "dbSchema", DEFAULTS.db_schema, _IDENT_RE, "a lower-case PostgreSQL identifier"),
        ssl_mode=ssl,
        admin_user=_string(values, "dbAdminUser", None, _IDENT_RE, "a lower-case PostgreSQL identifier")
        if manage or "dbAdminUser" in values else None,
        job_role=job_role,
        migration_role=_string(values, "dbMigrationRole", DEFAULTS.db_migration_role, _IDENT_RE, "a lower-case PostgreSQL identifier"),
        admin_password=None if admin_password is None else pulumi.Output.secret(str(admin_password)),
        job_url=pulumi.Output.secret(url),
        job_password=pulumi.Output.secret(unquote(parts.password)),
    )


@dataclass(frozen=True)
class MonitoringSettings:
    """What the alarms, SNS topics and dashboard need (rollout document §7.1).

    Attributes:
        thresholds: Every alarm and decision threshold (``jobs.contract.thresholds``), the same
            values the stack renders into the job's environment.
        review_emails: Subscribers of the "review" topic (may be empty).
        immediate_emails: Subscribers of the "immediate" topic (may be empty).
        schedules: Horizon -> EventBridge schedule expression, one per stack horizon.
        schedules_enabled: Whether the EventBridge rules fire (false once a later phase takes over).
    """

    thresholds: Thresholds
    review_emails: tuple[str, ...]
    immediate_emails: tuple[str, ...]
    schedules: tuple[tuple[str, str], ...]
    schedules_enabled: bool = True

    def schedule(self, horizon: str) -> str:
        """The schedule expression of ``horizon``."""
        return dict(self.schedules)[horizon]


def parse_monitoring(values: Mapping[str, Any], horizons: tuple[str, ...], job: JobConfig) -> MonitoringSettings:
    """Validate the monitoring settings; thresholds are the job's own (validated with it)."""
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
    return MonitoringSettings(
        thresholds=job.thresholds,
        review_emails=_strings(values, "reviewEmails", _EMAIL_RE, "e-mail addresses"),
        immediate_emails=_strings(values, "immediateEmails", _EMAIL_RE, "e-mail addresses"),
        schedules=tuple((h, schedules[h]) for h in horizons),
        schedules_enabled=flag(values, "schedulesEnabled", True),
    )


def flag(values: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean setting, ``default`` when unset."""
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected true or false")
    return value


# Stack config key -> ``Thresholds`` field (the storm period is configured in minutes).
THRESHOLD_KEYS: dict[str, str] = {
    "divergenceWarningThreshold": "divergence_warning",
    "divergenceCriticalThreshold": "divergence_critical",
    "baselineRmseEscalation": "rmse_escalation",
    "rollbackDivergence": "divergence_rollback",
    "rollbackRmseIncrease": "rmse_rollback",
    "alertStormCount": "alert_storm_count",
    "alertStormPeriodMinutes": "alert_storm_period_seconds",
}


def parse_thresholds(values: Mapping[str, Any]) -> Thresholds:
    """The stack's thresholds: each configured key over the rollout document's defaults."""
    chosen: dict[str, float | int] = {}
    for key, name in THRESHOLD_KEYS.items():
        if key not in values:
            continue
        if name == "alert_storm_count":
            chosen[name] = _int(values, key, 0, 1, 1000)
        elif name == "alert_storm_period_seconds":
            chosen[name] = 60 * _int(values, key, 0, 1, 1440)
        else:
            chosen[name] = fraction(values, key, 0.0)
    try:
        return Thresholds(**chosen)
    except ValueError as exc:
        # Name the stack keys, not the environment variables the job reads.
        message = str(exc)
        for key, name in THRESHOLD_KEYS.items():
            message = message.replace(ENV_VARS[name], key_name(key))
        raise SettingsError(message) from None
