"""What every settings section shares: the project name, the error type, the canonical
defaults and the helpers that read one key with one clear error.

The sections are ``infra.settings_batch`` (AWS Batch on Fargate), ``infra.settings_database``
(the shared PostgreSQL) and ``infra.settings_monitoring`` (alarms, topics, schedules);
``infra.settings`` assembles them into one ``Settings``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobs.contract.config import (
    DEFAULT_MODEL_SETS,
    ConfigError,
    JobConfig,
    Model,
    parse_symbols,
    parse_threshold,
)
from jobs.contract.thresholds import ENV_VARS, Thresholds

PROJECT = "ensemble-forecast"

IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
IDENT_WHAT = "a lower-case PostgreSQL identifier"


class SettingsError(ValueError):
    """Bad stack configuration: one line naming the key, the value and what is allowed."""


@dataclass(frozen=True)
class Defaults:
    """The program's defaults, equal to the ``default`` of each key in ``Pulumi.yaml``.

    The Pulumi CLI applies the ``Pulumi.yaml`` defaults before the program runs, so a real
    deploy always passes every key; these are the same values for ``parse_settings`` callers
    (tests hold the two together). Divergence thresholds and job behaviour come from
    ``jobs.contract.config.JobConfig``'s own defaults, so the job and the stack share them.
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
    database_url_secret_name: str = "ensemble-forecast/database-url"


DEFAULTS = Defaults()

# Keys whose Pulumi.yaml default means "not set": the CLI refuses a key with no default that
# a stack leaves out, so optional keys carry a default, and the program reads it as absent.
UNSET_DEFAULTS: dict[str, Any] = {
    "symbols": [],
    "symbolBatches": [],
    "enabledBatches": 0,
    "canarySymbols": [],
    "dbAdminSecretArn": "",
}


def drop_unset(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the keys that hold their "not set" default (``UNSET_DEFAULTS``)."""
    return {k: v for k, v in values.items() if not (k in UNSET_DEFAULTS and v == UNSET_DEFAULTS[k]
                                                     and type(v) is type(UNSET_DEFAULTS[k]))}


def key_name(key: str) -> str:
    """The fully qualified config key as ``pulumi config`` shows it."""
    return f"{PROJECT}:{key}"


def require(values: Mapping[str, Any], key: str) -> Any:
    """The value of a required key, or a ``SettingsError`` naming it."""
    if key not in values:
        raise SettingsError(f"{key_name(key)} is required but not set (pulumi config set {key} ...)")
    return values[key]


def parse_symbol_list(key: str, raw: Any, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a YAML list of symbols with ``jobs.contract.values.parse_symbols``."""
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


def integer(values: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer setting in [low, high], ``default`` when unset."""
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected an integer from {low} to {high}")
    return value


def fraction(values: Mapping[str, Any], key: str, default: float) -> float:
    """A fraction in (0, 1], validated by ``jobs.contract.values.parse_threshold``."""
    value = values.get(key, default)
    try:
        return parse_threshold(key_name(key), str(value))
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def flag(values: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean setting, ``default`` when unset."""
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected true or false")
    return value


def strings(values: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A list of distinct strings each matching ``pattern`` (empty when unset)."""
    raw = values.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(s, str) and pattern.match(s) for s in raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: expected a list of {what}")
    if len(set(raw)) != len(raw):
        raise SettingsError(f"{key_name(key)}={raw!r} is invalid: duplicate entries")
    return tuple(raw)


def string(values: Mapping[str, Any], key: str, default: str | None, pattern: re.Pattern[str], what: str) -> str:
    """A string matching ``pattern``; required when ``default`` is None."""
    value = values.get(key, default) if default is not None else require(values, key)
    if not isinstance(value, str) or not pattern.match(value):
        raise SettingsError(f"{key_name(key)}={value!r} is invalid: expected {what}")
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
            chosen[name] = integer(values, key, 0, 1, 1000)
        elif name == "alert_storm_period_seconds":
            chosen[name] = 60 * integer(values, key, 0, 1, 1440)
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
