"""The job's environment contract (docs/design.md §3.1): parse, validate and render.

This module is the single owner of every environment variable the forecast job reads.
The Pulumi program imports it to render each job definition's environment, so the
stacks and the job cannot disagree about names, defaults or allowed values. The parsers of
single values live in ``jobs.contract.values``, the tables the variables choose from (models,
model sets, weighting methods, horizons) in ``jobs.contract.domain``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobs.contract.domain import DEFAULT_MODEL_SETS, HORIZONS, MODEL_ORDER, OPTIMIZATION_METHODS, Model
from jobs.contract.images import parse_image_ref
from jobs.contract.phases import ROLLOUT_PHASES
from jobs.contract.thresholds import ENV_VARS as THRESHOLD_VARS
from jobs.contract.thresholds import Thresholds, parse_thresholds
from jobs.contract.values import (
    DEFAULT_EXCHANGE_CALENDAR,
    RETURN_OUTLIER_DEFAULT,
    ConfigError,
    check_database_url,
    check_exchange,
    parse_bool,
    parse_choice,
    parse_int,
    parse_outlier_threshold,
    parse_run_id,
    parse_symbols,
)

__all__ = [
    "DEFAULT_MAX_GAP_SESSIONS", "DEFAULT_MAX_STALE_SESSIONS", "DEFAULT_WALK_FORWARD_WINDOWS", "DEPLOY_SUPPLIED",
    "MAX_WALK_FORWARD_WINDOWS", "NONE", "JobConfig", "flag_var", "flags_for", "parse_horizons", "parse_model_list",
    "resolve_models",
]


# MAX_GAP_SESSIONS default: about a trading month. The longest NYSE closure since 1933 is 4
# sessions (September 2001), so a longer run of missing sessions is missing data, and one
# "return" spanning it would distort every window that contains it.
DEFAULT_MAX_GAP_SESSIONS = 21
# WALK_FORWARD_WINDOWS default: ten windows tell a bad window from a bad model (issue 24). Each
# window needs `step` more bars of history (daily 63, hourly 100), so the limit is generous.
DEFAULT_WALK_FORWARD_WINDOWS = 10
MAX_WALK_FORWARD_WINDOWS = 100
# MAX_STALE_SESSIONS default: a symbol whose last bar is more than 3 sessions before the run's date
# has a stale feed (a run during a session counts that session, a missed delivery one more).
DEFAULT_MAX_STALE_SESSIONS = 3


# The explicit "empty list" value of CANARY_*/ROLLOUT_* and BASELINE_MODELS: lower case, so
# no ticker (upper case), horizon or model can have this name.
NONE = "none"
# Variables the job reads that no job definition's environment sets, and who supplies them.
DEPLOY_SUPPLIED: dict[str, str] = {
    "DATABASE_URL": "Secrets Manager, through the job definition's secrets (never a plain value)",
    "AWS_BATCH_JOB_ARRAY_INDEX": "AWS Batch, in each array child",
    "AWS_BATCH_JOB_ARRAY_SIZE": "AWS Batch, in each array child (the prefix AWS_BATCH_ is reserved)",
    "FORECAST_DATA_DIR": "the image (jobs/Dockerfile); only the embedded local database reads it",
    "AWS_BATCH_JOB_ID": "AWS Batch, in every job (array children as <id>:<index>); it names the run",
    "AWS_BATCH_JOB_ATTEMPT": "AWS Batch, in every job (1 for the first attempt, 2 for the first retry ...)",
    "FORECAST_RUN_ID": "an operator, to run or resume under a chosen run id (the command's --run-id wins)",
}


def flag_var(model: Model) -> str:
    """The environment variable that overrides ``model``'s membership."""
    return f"ENABLE_{model.value}"


def parse_horizons(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated horizon list against the known horizons."""
    items = [h.strip() for h in raw.split(",")]
    known = ", ".join(HORIZONS)
    if not raw.strip() or any(not h for h in items):
        raise ConfigError(f"{name}={raw!r} is invalid: expected a comma-separated list of horizons from {known}")
    for h in items:
        if h not in HORIZONS:
            raise ConfigError(f"{name}={raw!r} is invalid: unknown horizon {h!r}; known horizons: {known}")
    if len(set(items)) != len(items):
        raise ConfigError(f"{name}={raw!r} is invalid: duplicate horizons")
    return tuple(items)


def resolve_models(count: int, flags: Mapping[Model, bool]) -> tuple[Model, ...]:
    """Apply the docs/design.md §3.1 rule: the count's default set, overridden flag by flag.

    Raises ``ConfigError`` naming the count, the enabled models and the flags set when
    the enabled set's size is not ``count``.
    """
    if count not in DEFAULT_MODEL_SETS:
        allowed = ", ".join(str(c) for c in DEFAULT_MODEL_SETS)
        raise ConfigError(f"ENSEMBLE_MODEL_COUNT={count!r} is invalid: expected one of {allowed}")
    enabled = set(DEFAULT_MODEL_SETS[count])
    for model, on in flags.items():
        (enabled.add if on else enabled.discard)(model)
    ordered = tuple(m for m in MODEL_ORDER if m in enabled)
    if len(ordered) != count:
        set_flags = ", ".join(f"{flag_var(m)}={'true' if v else 'false'}" for m, v in flags.items()) or "none"
        names = ", ".join(m.value for m in ordered) or "none"
        raise ConfigError(
            f"ENSEMBLE_MODEL_COUNT={count} does not match the enabled models: {len(ordered)} enabled "
            f"({names}); flags set: {set_flags}. Set ENSEMBLE_MODEL_COUNT={len(ordered)} or change the ENABLE_* flags"
        )
    return ordered


def flags_for(models: tuple[Model, ...]) -> dict[Model, bool]:
    """Explicit ENABLE_* flags for every model, so a rendered environment is unambiguous."""
    return {m: m in models for m in MODEL_ORDER}


class JobConfig(BaseModel):
    """The validated job configuration. Build with ``from_env`` or directly; render with ``to_env``.

    A frozen pydantic model: field types are checked on construction, and every
    cross-field rule raises ``ConfigError`` (never pydantic's multi-line error) so the job
    and the stacks report bad configuration the same way.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: tuple[Model, ...] = DEFAULT_MODEL_SETS[2]
    optimization_method: str = "simple_avg"
    walk_forward: bool = True
    # Rolling walk-forward windows per symbol-horizon (one when walk-forward is off).
    walk_forward_windows: int = Field(default=DEFAULT_WALK_FORWARD_WINDOWS, ge=1, le=MAX_WALK_FORWARD_WINDOWS)
    divergence_monitoring: bool = True
    thresholds: Thresholds = Field(default_factory=Thresholds)
    return_outlier_threshold: float = RETURN_OUTLIER_DEFAULT
    rollout_phase: str = "local"
    canary_symbols: tuple[str, ...] = ()
    canary_horizons: tuple[str, ...] = ()
    rollout_symbols: tuple[str, ...] = ()
    rollout_horizons: tuple[str, ...] = ()
    baseline_models: tuple[Model, ...] = ()
    database_url: str | None = Field(default=None, repr=False)
    data_dir: Path = Path(".data")
    array_index: int | None = None
    array_size: int | None = None
    seed: int = 7
    torch_threads: int = 1
    stack: str = "local"
    # The trading calendar of the stack's symbols: targets, sample bars and gap detection.
    exchange_calendar: str = DEFAULT_EXCHANGE_CALENDAR
    # A longer run of missing sessions in the bars a symbol-horizon reads refuses that symbol.
    max_gap_sessions: int = DEFAULT_MAX_GAP_SESSIONS
    # A symbol whose last bar is more sessions than this before the run's date is stale: a data
    # incident in a deployed phase, a warning locally.
    max_stale_sessions: int = DEFAULT_MAX_STALE_SESSIONS
    # Every symbol the stack enables (all its job groups): on start, symbols of the phase no
    # longer listed are marked retired. Empty: the job retires nothing.
    stack_symbols: tuple[str, ...] = ()
    # Who runs (DEPLOY_SUPPLIED, never rendered): an operator's chosen run id, and Batch's job id
    # and attempt, from which the job names the run and tells a first attempt from a retry.
    forecast_run_id: str | None = None
    batch_job_id: str | None = None
    batch_attempt: int | None = None
    image_ref: str | None = None  # IMAGE_REF: the stack's imageRef, which each run records; None (local): unknown

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None

    def model_post_init(self, _context: Any) -> None:
        """Cross-field rules, checked once every field has its type."""
        resolve_models(len(self.models), flags_for(self.models))
        parse_outlier_threshold("RETURN_OUTLIER_THRESHOLD", f"{self.return_outlier_threshold:g}")
        if self.optimization_method not in OPTIMIZATION_METHODS:
            parse_choice("ENSEMBLE_OPTIMIZATION_METHOD", self.optimization_method, OPTIMIZATION_METHODS)
        if self.rollout_phase not in ROLLOUT_PHASES:
            parse_choice("ROLLOUT_PHASE", self.rollout_phase, ROLLOUT_PHASES)
        if (self.array_index is None) != (self.array_size is None):
            raise ConfigError(
                "AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE must be set together or not at all"
            )
        check_exchange(self.exchange_calendar)
        if self.image_ref is not None:
            parse_image_ref("IMAGE_REF", self.image_ref)
        if self.array_index is not None and self.array_size is not None and self.array_index >= self.array_size:
            raise ConfigError(
                f"AWS_BATCH_JOB_ARRAY_INDEX={self.array_index} is invalid: expected 0 to {self.array_size - 1}"
            )

    @property
    def divergence_threshold(self) -> float:
        """``DIVERGENCE_THRESHOLD``: a window above it is overfitting (the guard's threshold)."""
        return self.thresholds.divergence_warning

    @property
    def divergence_critical_threshold(self) -> float:
        """``DIVERGENCE_CRITICAL_THRESHOLD``: a window above it is a critical alert."""
        return self.thresholds.divergence_critical

    @property
    def model_count(self) -> int:
        """The number of models in the ensemble (``ENSEMBLE_MODEL_COUNT``)."""
        return len(self.models)

    @property
    def default_symbols(self) -> tuple[str, ...]:
        """Symbols to run when the command line names none: rollout list, else canary list."""
        return self.rollout_symbols or self.canary_symbols

    @property
    def default_horizons(self) -> tuple[str, ...]:
        """Horizons to run when the command line names none."""
        return self.rollout_horizons or self.canary_horizons

    def to_env(self) -> dict[str, str]:
        """Render the environment that ``from_env`` parses back into an equal config.

        Every variable the job reads is rendered except ``DEPLOY_SUPPLIED`` ones
        (``DATABASE_URL`` is injected from Secrets Manager, the array variables by Batch).
        """
        env = {
            "ENSEMBLE_MODEL_COUNT": str(self.model_count),
            **{flag_var(m): "true" if on else "false" for m, on in flags_for(self.models).items()},
            "ENSEMBLE_OPTIMIZATION_METHOD": self.optimization_method,
            "ENABLE_WALK_FORWARD": "true" if self.walk_forward else "false",
            "WALK_FORWARD_WINDOWS": str(self.walk_forward_windows),
            "ENABLE_DIVERGENCE_MONITORING": "true" if self.divergence_monitoring else "false",
            **{var: f"{getattr(self.thresholds, name):g}" for name, var in THRESHOLD_VARS.items()},
            "RETURN_OUTLIER_THRESHOLD": f"{self.return_outlier_threshold:g}",
            "ROLLOUT_PHASE": self.rollout_phase,
            "FORECAST_SEED": str(self.seed),
            "TORCH_NUM_THREADS": str(self.torch_threads),
            "DEPLOY_STACK": self.stack,
            "EXCHANGE_CALENDAR": self.exchange_calendar,
            "MAX_GAP_SESSIONS": str(self.max_gap_sessions),
            "MAX_STALE_SESSIONS": str(self.max_stale_sessions),
        }
        # Empty lists are rendered as "none", never left out or empty: the Batch API drops
        # empty environment values, and a job definition names every variable (docs/design.md §3.1).
        lists = {
            "CANARY_SYMBOLS": self.canary_symbols,
            "CANARY_HORIZONS": self.canary_horizons,
            "ROLLOUT_SYMBOLS": self.rollout_symbols,
            "ROLLOUT_HORIZONS": self.rollout_horizons,
            "BASELINE_MODELS": tuple(m.value for m in self.baseline_models),
            "STACK_SYMBOLS": self.stack_symbols,
        }
        env.update({k: ",".join(v) if v else NONE for k, v in lists.items()})
        if self.image_ref is not None:  # never empty: every stack that declares job definitions pins an image
            env["IMAGE_REF"] = self.image_ref
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> JobConfig:
        """Parse and validate ``env``; raise ``ConfigError`` with one clear line on bad input.

        A variable in the job's namespaces (``checked_prefixes``) that the job does not know is bad
        input too: a misspelt flag would otherwise be ignored and the job would do the opposite.
        """
        check_known(env)
        return cls(**_parse_env(env))


def known_variables() -> frozenset[str]:
    """Every variable the job reads: what a stack renders (``to_env``; IMAGE_REF once it pins an image) and
    what the deployment supplies."""
    return frozenset(JobConfig().to_env()) | {"IMAGE_REF"} | frozenset(DEPLOY_SUPPLIED)


# Namespaces other programs share with the job's variables: AWS's SDKs and Batch set many AWS_*
# (the job reads only its listed ones), PyTorch reads TORCH_* of its own, build tools set MAX_JOBS,
# and the deploy workflow sets STACK_REF beside the job's STACK_SYMBOLS.
FOREIGN_PREFIXES = ("AWS_", "TORCH_", "MAX_", "STACK_")


def checked_prefixes() -> tuple[str, ...]:
    """The job's namespaces: the first word of each known variable (ENABLE_, ENSEMBLE_, DIVERGENCE_ ...)."""
    firsts = {name.split("_")[0] + "_" for name in known_variables()}
    return tuple(sorted(p for p in firsts if p not in FOREIGN_PREFIXES))


def check_known(env: Mapping[str, str]) -> None:
    """Refuse a variable in the job's namespaces that the job does not read, naming the closest known one."""
    known = sorted(known_variables())
    prefixes = checked_prefixes()
    for name in sorted(env):
        if name in known or not name.startswith(prefixes):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
        family = name.split("_")[0] + "_"
        hint = f"did you mean {close[0]}?" if close else \
            f"the job's {family} settings: {', '.join(k for k in known if k.startswith(family))}"
        raise ConfigError(f"{name} is not a setting of the job ({hint}); correct or unset it")


def parse_model_list(name: str, raw: str) -> tuple[Model, ...]:
    """Parse a comma-separated model list such as ``LSTM,ARIMA_GARCH,GB,RF``."""
    allowed = ", ".join(m.value for m in MODEL_ORDER)
    names = [s.strip().upper() for s in raw.split(",") if s.strip()]
    try:
        chosen = {Model(n) for n in names}
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is invalid: expected models from {allowed}") from None
    if len(chosen) != len(names) or len(chosen) not in DEFAULT_MODEL_SETS:
        raise ConfigError(f"{name}={raw!r} is invalid: expected 2 to 4 distinct models from {allowed}")
    return tuple(m for m in MODEL_ORDER if m in chosen)


def _parse_env(env: Mapping[str, str]) -> dict[str, object]:
    def get(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value == "" else value

    count = parse_int("ENSEMBLE_MODEL_COUNT", get("ENSEMBLE_MODEL_COUNT") or "2", 2, 4)
    flags = {m: parse_bool(flag_var(m), env[flag_var(m)]) for m in MODEL_ORDER if get(flag_var(m))}
    out: dict[str, object] = {"models": resolve_models(count, flags)}
    if (raw := get("ENSEMBLE_OPTIMIZATION_METHOD")) is not None:
        out["optimization_method"] = parse_choice("ENSEMBLE_OPTIMIZATION_METHOD", raw, OPTIMIZATION_METHODS)
    for key, name in (("walk_forward", "ENABLE_WALK_FORWARD"), ("divergence_monitoring", "ENABLE_DIVERGENCE_MONITORING")):
        if (raw := get(name)) is not None:
            out[key] = parse_bool(name, raw)
    if (raw := get("WALK_FORWARD_WINDOWS")) is not None:
        out["walk_forward_windows"] = parse_int("WALK_FORWARD_WINDOWS", raw, 1, MAX_WALK_FORWARD_WINDOWS)
    # One parser for the job's and the stacks' thresholds, with one set of limits.
    out["thresholds"] = parse_thresholds({n: raw for n, var in THRESHOLD_VARS.items() if (raw := get(var)) is not None})
    if (raw := get("RETURN_OUTLIER_THRESHOLD")) is not None:
        out["return_outlier_threshold"] = parse_outlier_threshold("RETURN_OUTLIER_THRESHOLD", raw)
    if (raw := get("ROLLOUT_PHASE")) is not None:
        out["rollout_phase"] = parse_choice("ROLLOUT_PHASE", raw, ROLLOUT_PHASES)
    for key, name in (("canary_symbols", "CANARY_SYMBOLS"), ("rollout_symbols", "ROLLOUT_SYMBOLS")):
        if (raw := env.get(name)) is not None:
            out[key] = () if _is_none(raw) else parse_symbols(name, raw)
    for key, name in (("canary_horizons", "CANARY_HORIZONS"), ("rollout_horizons", "ROLLOUT_HORIZONS")):
        if (raw := env.get(name)) is not None:
            out[key] = () if _is_none(raw) else parse_horizons(name, raw)
    if (raw := get("BASELINE_MODELS")) is not None:
        out["baseline_models"] = () if _is_none(raw) else parse_model_list("BASELINE_MODELS", raw)
    if (raw := get("DATABASE_URL")) is not None:
        out["database_url"] = check_database_url(raw)
    if (raw := get("FORECAST_DATA_DIR")) is not None:
        out["data_dir"] = Path(raw)
    out.update(_parse_run(get))
    if (raw := get("FORECAST_SEED")) is not None:
        out["seed"] = parse_int("FORECAST_SEED", raw, 0, 2**31 - 1)
    if (raw := get("TORCH_NUM_THREADS")) is not None:
        out["torch_threads"] = parse_int("TORCH_NUM_THREADS", raw, 1, 64)
    if (raw := get("DEPLOY_STACK")) is not None:
        out["stack"] = raw.strip()
    if (raw := get("EXCHANGE_CALENDAR")) is not None:
        out["exchange_calendar"] = check_exchange(raw.strip())
    if (raw := get("MAX_GAP_SESSIONS")) is not None:
        out["max_gap_sessions"] = parse_int("MAX_GAP_SESSIONS", raw, 1, 10_000)
    if (raw := get("MAX_STALE_SESSIONS")) is not None:
        out["max_stale_sessions"] = parse_int("MAX_STALE_SESSIONS", raw, 1, 10_000)
    if (raw := get("STACK_SYMBOLS")) is not None:
        out["stack_symbols"] = () if _is_none(raw) else parse_symbols("STACK_SYMBOLS", raw)
    return out


def _parse_run(get: Callable[[str], str | None]) -> dict[str, object]:
    """Who runs: Batch's array position, job id and attempt, an operator's run id, and the image."""
    out: dict[str, object] = {}
    size_raw, index_raw = get("AWS_BATCH_JOB_ARRAY_SIZE"), get("AWS_BATCH_JOB_ARRAY_INDEX")
    if index_raw is not None:
        if size_raw is None:
            # Batch sets the index in array children; the stack sets the size beside it.
            raise ConfigError(f"AWS_BATCH_JOB_ARRAY_INDEX={index_raw!r} is set without AWS_BATCH_JOB_ARRAY_SIZE")
        size = parse_int("AWS_BATCH_JOB_ARRAY_SIZE", size_raw, 1, 10_000)
        out["array_size"] = size
        out["array_index"] = parse_int("AWS_BATCH_JOB_ARRAY_INDEX", index_raw, 0, size - 1)
    elif size_raw is not None:
        # A size without an index is a one-off (non-array) submission: it runs every symbol.
        parse_int("AWS_BATCH_JOB_ARRAY_SIZE", size_raw, 1, 10_000)
    if (raw := get("AWS_BATCH_JOB_ID")) is not None:
        out["batch_job_id"] = parse_run_id("AWS_BATCH_JOB_ID", raw)
    if (raw := get("AWS_BATCH_JOB_ATTEMPT")) is not None:
        out["batch_attempt"] = parse_int("AWS_BATCH_JOB_ATTEMPT", raw, 1, 10)
    if (raw := get("FORECAST_RUN_ID")) is not None:
        out["forecast_run_id"] = parse_run_id("FORECAST_RUN_ID", raw)
    if (raw := get("IMAGE_REF")) is not None:
        out["image_ref"] = str(parse_image_ref("IMAGE_REF", raw.strip()))
    return out


def _is_none(raw: str) -> bool:
    return raw.strip() == NONE


def _one_line(exc: ValidationError) -> str:
    """The first error of a pydantic ``ValidationError`` as one line (ours keep their own text)."""
    first = exc.errors()[0]
    original = first.get("ctx", {}).get("error")
    if isinstance(original, ConfigError):
        return str(original)
    where = ".".join(str(p) for p in first["loc"]) or "configuration"
    return f"{where}={first.get('input')!r} is invalid: {first['msg']}"
