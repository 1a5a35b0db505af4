"""What a stack forecasts: its phase, symbols and horizons, and the job groups that run them.

Each job group's environment is a ``jobs.contract.config.JobConfig``, built from the stack's
keys with the job's own parsers (symbols, horizons, models, thresholds, the pinned image), so the
stack cannot render an environment the job would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.names import CORE_GROUP
from infra.values import SettingsError, contract, flag, integer, key_name, parse_symbol_list, require
from jobs.contract.config import MAX_WALK_FORWARD_WINDOWS, JobConfig, parse_horizons, parse_model_list
from jobs.contract.domain import DEFAULT_MODEL_SETS, OPTIMIZATION_METHODS, Model
from jobs.contract.phases import DEPLOYED_PHASES
from jobs.contract.thresholds import PERIOD_MINUTES, Thresholds, parse_thresholds
from jobs.contract.values import parse_choice

# The keys read here, with how Pulumi's config string is decoded.
JOB_KEYS: dict[str, str] = {
    "rolloutPhase": "str",
    "symbols": "json",
    "symbolBatches": "json",
    "enabledBatches": "int",
    "canarySymbols": "json",
    "horizons": "json",
    "models": "json",
    "optimizationMethod": "str",
    "walkForward": "bool",
    "walkForwardWindows": "int",
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
    "forecastSeed": "int",
    "torchNumThreads": "int",
    "maxStaleSessions": "int",
}
# Stack config key -> ``Thresholds`` field (``parse_thresholds`` reads the storm period in minutes).
THRESHOLD_KEYS: dict[str, str] = {
    "divergenceWarningThreshold": "divergence_warning",
    "divergenceCriticalThreshold": "divergence_critical",
    "baselineRmseEscalation": "rmse_escalation",
    "rollbackDivergence": "divergence_rollback",
    "rollbackRmseIncrease": "rmse_rollback",
    "alertStormCount": "alert_storm_count",
    "alertStormPeriodMinutes": PERIOD_MINUTES,
}
# Defaults equal to Pulumi.yaml's (tests/deploy/test_pulumi_cli_config.py holds the two together);
# the job's behaviour defaults are JobConfig's own, so the job and the stack share them.
JOB_DEFAULTS = JobConfig()
HIGH_VALUE_MODELS: tuple[Model, ...] = DEFAULT_MODEL_SETS[3]
# The legacy ensemble scored on the same windows, for "RMSE vs baseline" (alarms, review).
BASELINE_MODELS: tuple[Model, ...] = DEFAULT_MODEL_SETS[4]


@dataclass(frozen=True)
class JobGroup:
    """Symbols run together with one model set: one job definition and schedule per horizon.

    Attributes:
        name: ``core`` (the phase's model set) or ``high-value`` (prod's optional 3-model set).
        symbols: The symbols this group forecasts.
        job: The validated job configuration whose ``to_env()`` is the container environment.
    """

    name: str
    symbols: tuple[str, ...]
    job: JobConfig

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
class Workload:
    """What the stack forecasts.

    Attributes:
        phase: The rollout phase.
        symbols: Enabled symbols (all of them for canary/limited, enabled batches for prod).
        canary_symbols: The proven canary symbols (``is_canary`` in symbol_metadata).
        horizons: Horizons to forecast; one job definition and schedule each.
        groups: The job groups: core first, and for prod the optional high-value group.
    """

    phase: str
    symbols: tuple[str, ...]
    canary_symbols: tuple[str, ...]
    horizons: tuple[str, ...]
    groups: tuple[JobGroup, ...]

    @property
    def thresholds(self) -> Thresholds:
        """The stack's thresholds: every group's job has the same."""
        return self.groups[0].job.thresholds

    @property
    def image_ref(self) -> str | None:
        """The image every group's job runs and records (``IMAGE_REF``); None while the stack bootstraps."""
        return self.groups[0].job.image_ref


def parse_workload(values: Mapping[str, Any], stack: str, image_ref: str | None = None) -> Workload:
    """Validate the phase, symbols, horizons, models and job behaviour of ``stack``.

    ``image_ref`` is the stack's validated image pin (``infra.batch.args.parse_image_ref``), which
    every job definition's environment names as ``IMAGE_REF``: each run records the image it ran.

    Raises:
        SettingsError: One line naming the key, the value and what is allowed.
    """
    phase = require(values, "rolloutPhase")
    if phase not in DEPLOYED_PHASES:
        raise SettingsError(f"{key_name('rolloutPhase')}={phase!r} is invalid: expected one of {', '.join(DEPLOYED_PHASES)}")
    batches, enabled = _symbol_batches(values)
    source = "symbolBatches" if "symbolBatches" in values else "symbols"
    all_symbols = parse_symbol_list(source, [s for b in batches for s in b])
    symbols = tuple(s for b in batches[:enabled] for s in b)
    horizons = contract(lambda: parse_horizons(key_name("horizons"), _joined(values, "horizons")))
    canary = _subset(values, "canarySymbols", all_symbols, default=symbols if phase == "canary" else ())
    job_args = _job_args(values, stack, phase, horizons, canary)
    # Every group's job gets the whole enabled list (STACK_SYMBOLS): it retires the phase's symbols
    # that the stack no longer lists, and must not retire another group's.
    job_args["stack_symbols"] = symbols
    job_args["image_ref"] = image_ref
    core_models = _models(values, "models", None)
    high_value = _subset(values, "highValueSymbols", all_symbols, default=())
    groups = [_group(CORE_GROUP, tuple(s for s in symbols if s not in high_value), core_models, job_args)]
    hv_enabled = tuple(s for s in symbols if s in high_value)
    if hv_enabled:
        hv_models = _models(values, "highValueModels", HIGH_VALUE_MODELS)
        groups.append(_group("high-value", hv_enabled, hv_models, job_args))
    if not groups[0].symbols:
        raise SettingsError(f"{key_name('highValueSymbols')} leaves no symbol for the core job group")
    return Workload(phase=phase, symbols=symbols, canary_symbols=canary, horizons=horizons, groups=tuple(groups))


def parse_stack_thresholds(values: Mapping[str, Any]) -> Thresholds:
    """The stack's thresholds, parsed by the job's own parser: each configured key over the defaults."""
    texts = {field: str(values[key]) for key, field in THRESHOLD_KEYS.items() if key in values}
    names = {field: key_name(key) for key, field in THRESHOLD_KEYS.items()}
    return contract(lambda: parse_thresholds(texts, names))


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
    return contract(lambda: parse_model_list(key_name(key), _joined(values, key)))


def _job_args(
    values: Mapping[str, Any], stack: str, phase: str, horizons: tuple[str, ...], canary: tuple[str, ...]
) -> dict[str, Any]:
    method = values.get("optimizationMethod", JOB_DEFAULTS.optimization_method)
    contract(lambda: parse_choice(key_name("optimizationMethod"), str(method), OPTIMIZATION_METHODS))
    args: dict[str, Any] = {
        "optimization_method": method,
        "walk_forward": flag(values, "walkForward", JOB_DEFAULTS.walk_forward),
        "walk_forward_windows": integer(values, "walkForwardWindows", JOB_DEFAULTS.walk_forward_windows, 1,
                                        MAX_WALK_FORWARD_WINDOWS),
        "divergence_monitoring": flag(values, "divergenceMonitoring", JOB_DEFAULTS.divergence_monitoring),
        "thresholds": parse_stack_thresholds(values),
        "rollout_phase": phase,
        "stack": stack,
        "canary_symbols": canary,
        "baseline_models": () if values.get("baselineModels") == [] else _models(
            values, "baselineModels", BASELINE_MODELS),
        # Rendered explicitly, so that `pulumi up` of an older stack file restores them too.
        "seed": integer(values, "forecastSeed", JOB_DEFAULTS.seed, 0, 2**31 - 1),
        "torch_threads": integer(values, "torchNumThreads", JOB_DEFAULTS.torch_threads, 1, 64),
        "max_stale_sessions": integer(values, "maxStaleSessions", JOB_DEFAULTS.max_stale_sessions, 1, 10_000),
    }
    # Canary runs on the CANARY_* variables, later phases on ROLLOUT_* (rollout document §7.1/7.2).
    args["canary_horizons" if phase == "canary" else "rollout_horizons"] = horizons
    return args


def _group(name: str, symbols: tuple[str, ...], models: tuple[Model, ...], args: dict[str, Any]) -> JobGroup:
    field = "canary_symbols" if args["rollout_phase"] == "canary" else "rollout_symbols"
    job = contract(lambda: JobConfig(models=models, **{**args, field: symbols}))
    return JobGroup(name=name, symbols=symbols, job=job)
