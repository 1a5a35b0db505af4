"""The stack's settings: read once from ``pulumi.Config`` into frozen, validated dataclasses.

Everything the program declares comes from a ``Settings`` built here, so bad configuration
fails with one clear ``SettingsError`` before any resource is declared. Symbol, horizon and
model parsing reuse ``jobs.contract.config`` and every job environment is a ``jobs.contract.config.JobConfig``,
so the stack cannot render an environment the job would refuse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.settings_batch import BatchSettings, parse_batch
from infra.settings_common import (
    DEFAULTS,
    PROJECT,
    SettingsError,
    drop_unset,
    flag,
    integer,
    key_name,
    parse_symbol_list,
    parse_thresholds,
    require,
)
from infra.settings_database import DatabaseSettings, parse_database
from infra.settings_monitoring import MonitoringSettings, parse_monitoring
from jobs.contract.config import (
    OPTIMIZATION_METHODS,
    ConfigError,
    JobConfig,
    Model,
    parse_choice,
    parse_horizons,
    parse_model_list,
)
from jobs.contract.phases import DEPLOYED_PHASES

__all__ = [
    "CONFIG_KEYS",
    "PROJECT",
    "BatchSettings",
    "DatabaseSettings",
    "JobGroup",
    "MonitoringSettings",
    "Settings",
    "SettingsError",
    "load_settings",
    "parse_settings",
]

# Every key the program reads, with how its raw string is decoded. Pulumi.yaml declares
# exactly these keys, each with a default unless every stack file sets it (the Pulumi CLI
# refuses a stack that leaves out a key with no default); no key is a secret.
CONFIG_KEYS: dict[str, str] = {
    "rolloutPhase": "str",
    "symbols": "json",
    "symbolBatches": "json",
    "enabledBatches": "int",
    "canarySymbols": "json",
    "horizons": "json",
    "models": "json",
    "optimizationMethod": "str",
    "walkForward": "bool",
    "divergenceMonitoring": "bool",
    "highValueSymbols": "json",
    "highValueModels": "json",
    "baselineModels": "json",
    "divergenceWarningThreshold": "float",
    "divergenceCriticalThreshold": "float",
    "baselineRmseEscalation": "float",
    "rollbackDivergence": "float",
    "rollbackRmseIncrease": "float",
    "alertStormCount": "int",
    "alertStormPeriodMinutes": "int",
    "reviewEmails": "json",
    "immediateEmails": "json",
    "schedules": "json",
    "imageRef": "str",
    "symbolsPerTask": "int",
    "retryAttempts": "int",
    "jobTimeoutSeconds": "int",
    "taskVcpu": "float",
    "taskMemoryMiB": "int",
    "maxVcpus": "int",
    "subnetIds": "json",
    "securityGroupIds": "json",
    "logRetentionDays": "int",
    "manageDatabase": "bool",
    "schedulesEnabled": "bool",
    "dbHost": "str",
    "dbPort": "int",
    "dbName": "str",
    "dbSchema": "str",
    "dbSslMode": "str",
    "dbAdminSecretArn": "str",
    "dbJobRole": "str",
    "dbMigrationRole": "str",
    "databaseUrlSecretName": "str",
    "forecastSeed": "int",
    "torchNumThreads": "int",
    "maxStaleSessions": "int",
}



@dataclass(frozen=True)
class JobGroup:
    """Symbols run together with one model set: one job definition and schedule per horizon.

    Attributes:
        name: ``core`` (the phase's model set) or ``high-value`` (prod's optional 3-model set).
        symbols: The symbols this group forecasts.
        job: The validated job configuration whose ``to_env()`` is the container environment.
        array_size: Batch array size, ``ceil(len(symbols) / symbols_per_task)``.
    """

    name: str
    symbols: tuple[str, ...]
    job: JobConfig
    array_size: int

    @property
    def models(self) -> tuple[Model, ...]:
        """The group's model set."""
        return self.job.models

    def environment(self) -> dict[str, str]:
        """The container environment: exactly the job's own rendering.

        No ``AWS_BATCH_*`` variable: that prefix is Batch's own (job definitions may not set
        it); Batch sets ``AWS_BATCH_JOB_ARRAY_INDEX``/``SIZE`` itself in array children.
        """
        return self.job.to_env()


@dataclass(frozen=True)
class Settings:
    """Everything one stack declares, validated.

    Attributes:
        stack: The Pulumi stack name (``canary``, ``limited``, ``prod``).
        phase: The rollout phase.
        symbols: Enabled symbols (all of them for canary/limited, enabled batches for prod).
        canary_symbols: The proven canary symbols (``is_canary`` in symbol_metadata).
        horizons: Horizons to forecast; one job definition and schedule each.
        groups: The job groups (core, and for prod the optional high-value group).
        batch: AWS Batch sizing, image and network.
        database: Connection and roles for the database component.
        monitoring: Thresholds, triggers, subscriptions and schedules for the alarms.
    """

    stack: str
    phase: str
    symbols: tuple[str, ...]
    canary_symbols: tuple[str, ...]
    horizons: tuple[str, ...]
    groups: tuple[JobGroup, ...]
    batch: BatchSettings
    database: DatabaseSettings
    monitoring: MonitoringSettings

    @property
    def tags(self) -> dict[str, str]:
        """Tags put on every taggable resource."""
        return {"service": PROJECT, "stack": self.stack, "phase": self.phase}


def load_settings(config: pulumi.Config, stack: str | None = None) -> Settings:
    """Read every key once from ``config`` and validate it.

    Args:
        config: The project's ``pulumi.Config`` (``pulumi.Config("ensemble-forecast")``).
        stack: The stack name; defaults to ``pulumi.get_stack()``.

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
    return parse_settings(drop_unset(values), stack or pulumi.get_stack())


def parse_settings(values: Mapping[str, Any], stack: str) -> Settings:
    """Validate decoded config ``values`` (key -> YAML-like value) for ``stack``.

    Raises:
        SettingsError: One line naming the key, the value and what is allowed.
    """
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError(f"{key_name(unknown[0])} is not a known setting; known: {', '.join(CONFIG_KEYS)}")
    phase = require(values, "rolloutPhase")
    if phase not in DEPLOYED_PHASES:
        raise SettingsError(f"{key_name('rolloutPhase')}={phase!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    batches, enabled = _symbol_batches(values)
    source = "symbolBatches" if "symbolBatches" in values else "symbols"
    all_symbols = parse_symbol_list(source, [s for b in batches for s in b])
    symbols = tuple(s for b in batches[:enabled] for s in b)
    horizons = _wrap(lambda: parse_horizons(key_name("horizons"), _joined(values, "horizons")))
    canary = _subset(values, "canarySymbols", all_symbols, default=symbols if phase == "canary" else ())
    batch = parse_batch(values)
    job_args = _job_args(values, stack, phase, horizons, canary)
    # Every group's job gets the whole enabled list (STACK_SYMBOLS): it retires the phase's symbols
    # that the stack no longer lists, and must not retire another group's.
    job_args["stack_symbols"] = symbols
    core_models = _models(values, "models", None)
    high_value = _subset(values, "highValueSymbols", all_symbols, default=())
    groups = [_group("core", tuple(s for s in symbols if s not in high_value), core_models, job_args, batch)]
    hv_enabled = tuple(s for s in symbols if s in high_value)
    if hv_enabled:
        hv_models = _models(values, "highValueModels", DEFAULTS.high_value_models)
        groups.append(_group("high-value", hv_enabled, hv_models, job_args, batch))
    if not groups[0].symbols:
        raise SettingsError(f"{key_name('highValueSymbols')} leaves no symbol for the core job group")
    return Settings(
        stack=stack, phase=phase, symbols=symbols, canary_symbols=canary, horizons=horizons, groups=tuple(groups),
        batch=batch, database=parse_database(values),
        monitoring=parse_monitoring(values, horizons, groups[0].job),
    )


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


_KIND_NAMES = {"json": "a YAML list or map", "int": "an integer", "float": "a number", "bool": "true or false"}


def _wrap(fn: Callable[[], Any]) -> Any:
    # jobs.contract.config raises ConfigError; the stack reports every problem as SettingsError.
    try:
        return fn()
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def _joined(values: Mapping[str, Any], key: str) -> str:
    items = require(values, key)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise SettingsError(f"{key_name(key)}={items!r} is invalid: expected a list of strings")
    if not items:
        raise SettingsError(f"{key_name(key)} is empty: list at least one value")
    return ",".join(items)


def _symbol_batches(values: Mapping[str, Any]) -> tuple[tuple[tuple[str, ...], ...], int]:
    if ("symbols" in values) == ("symbolBatches" in values):
        raise SettingsError(f"set exactly one of {key_name('symbols')} or {key_name('symbolBatches')}")
    if "symbols" in values:
        if "enabledBatches" in values:
            raise SettingsError(f"{key_name('enabledBatches')} needs {key_name('symbolBatches')}, not symbols")
        return (parse_symbol_list("symbols", values["symbols"]),), 1
    raw = values["symbolBatches"]
    if not isinstance(raw, list) or not raw:
        raise SettingsError(f"{key_name('symbolBatches')}={raw!r} is invalid: expected a non-empty list of lists")
    batches = tuple(parse_symbol_list(f"symbolBatches[{i}]", b) for i, b in enumerate(raw))
    enabled = require(values, "enabledBatches")
    if not isinstance(enabled, int) or not 1 <= enabled <= len(batches):
        raise SettingsError(f"{key_name('enabledBatches')}={enabled!r} is invalid: expected 1 to {len(batches)}")
    return batches, enabled


def _subset(values: Mapping[str, Any], key: str, universe: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in values:
        return default
    chosen = parse_symbol_list(key, values[key], allow_empty=True)
    missing = [s for s in chosen if s not in universe]
    if missing:
        raise SettingsError(f"{key_name(key)} names {','.join(missing)}, which are not among the stack's symbols")
    return chosen


def _models(values: Mapping[str, Any], key: str, default: tuple[Model, ...] | None) -> tuple[Model, ...]:
    if key not in values and default is not None:
        return default
    return _wrap(lambda: parse_model_list(key_name(key), _joined(values, key)))


def _job_args(
    values: Mapping[str, Any], stack: str, phase: str, horizons: tuple[str, ...], canary: tuple[str, ...]
) -> dict[str, Any]:
    method = values.get("optimizationMethod", DEFAULTS.job.optimization_method)
    _wrap(lambda: parse_choice(key_name("optimizationMethod"), str(method), OPTIMIZATION_METHODS))
    args: dict[str, Any] = {
        "optimization_method": method,
        "walk_forward": flag(values, "walkForward", DEFAULTS.job.walk_forward),
        "divergence_monitoring": flag(values, "divergenceMonitoring", DEFAULTS.job.divergence_monitoring),
        "thresholds": parse_thresholds(values),
        "rollout_phase": phase,
        "stack": stack,
        "canary_symbols": canary,
        "baseline_models": () if values.get("baselineModels") == [] else _models(
            values, "baselineModels", DEFAULTS.baseline_models),
        # Rendered explicitly, so that `pulumi up` of an older stack file restores them too.
        "seed": integer(values, "forecastSeed", DEFAULTS.job.seed, 0, 2**31 - 1),
        "torch_threads": integer(values, "torchNumThreads", DEFAULTS.job.torch_threads, 1, 64),
        "max_stale_sessions": integer(values, "maxStaleSessions", DEFAULTS.job.max_stale_sessions, 1, 10_000),
    }
    # Canary runs on the CANARY_* variables, later phases on ROLLOUT_* (rollout document §7.1/7.2).
    args["canary_horizons" if phase == "canary" else "rollout_horizons"] = horizons
    return args


def _group(
    name: str, symbols: tuple[str, ...], models: tuple[Model, ...], args: dict[str, Any], batch: BatchSettings
) -> JobGroup:
    field = "canary_symbols" if args["rollout_phase"] == "canary" else "rollout_symbols"
    job = _wrap(lambda: JobConfig(models=models, **{**args, field: symbols}))
    return JobGroup(name=name, symbols=symbols, job=job, array_size=math.ceil(len(symbols) / batch.symbols_per_task))
