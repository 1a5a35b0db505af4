"""The run's plan: what the command line and the environment ask for, validated before any row is written.

``make_plan`` turns the forecast command's flags (as typed) and the job's configuration into a
``Plan``: this shard's symbols, the horizons, the worker count, the run id and the run's date
(``--as-of``, which freshness is measured against). The date asked for here is the run's only on
its first attempt: a retry keeps the date the first attempt recorded (``jobs.running.run.settle_run_date``).
Every bad value raises ``ConfigError`` with one line naming the flag or variable and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from jobs.contract.config import JobConfig, parse_horizons
from jobs.contract.values import ConfigError, parse_int, parse_run_id, parse_symbols
from jobs.forecasting.calendar import exchange_today


@dataclass(frozen=True)
class Request:
    """The forecast command's flags as typed (``None``: not given, so the environment decides)."""

    symbols: str | None = None
    horizon: str | None = None
    workers: str | None = None
    run_id: str | None = None
    shard: str | None = None
    sample_data: bool = True  # --sample-data auto: seed an empty local database
    as_of: str | None = None  # --as-of YYYY-MM-DD (default: today where EXCHANGE_CALENDAR trades)


@dataclass(frozen=True)
class Plan:
    """Everything validated before the first row is written."""

    cfg: JobConfig
    symbols: tuple[str, ...]
    horizons: tuple[str, ...]
    workers: int
    run_id: str
    sample_data: bool
    as_of: date | None = None  # the run's date (freshness, MAX_STALE_SESSIONS); None: not checked
    as_of_given: bool = False  # --as-of was passed (else the date is today's, which a retry replaces)


def make_plan(cfg: JobConfig, request: Request, now: datetime | None = None) -> Plan:
    """Validate ``request`` over ``cfg``; raise ``ConfigError`` naming the flag or variable on bad input.

    ``now`` is the clock that the defaults read (today's date, a local run id's day); the current
    time when None.
    """
    symbols = _flag_or_env("--symbols", request.symbols, parse_symbols, cfg.default_symbols, "ROLLOUT_SYMBOLS",
                           "CANARY_SYMBOLS")
    horizons = _flag_or_env("--horizon", request.horizon, parse_horizons, cfg.default_horizons, "ROLLOUT_HORIZONS",
                            "CANARY_HORIZONS")
    workers = parse_int("--workers", request.workers, 1, 64) if request.workers is not None else default_workers()
    index, count = parse_shard(request.shard, cfg)
    mine = shard(symbols, index, count)
    if request.run_id is not None:
        run_id = parse_run_id("--run-id", request.run_id)
    else:
        run_id = cfg.forecast_run_id or make_run_id(cfg, symbols, horizons, now)
    sample = request.sample_data and cfg.rollout_phase == "local"
    given = request.as_of is not None
    as_of = parse_as_of(request.as_of) if request.as_of is not None else exchange_today(cfg.exchange_calendar, now)
    return Plan(cfg, mine, horizons, min(workers, max(1, len(mine) * len(horizons))), run_id, sample, as_of, given)


def parse_as_of(raw: str) -> date:
    """``--as-of``: the run's date, an ISO date."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigError(f"--as-of={raw!r} is invalid: expected a date such as 2026-11-20") from None


def _flag_or_env(flag: str, raw: str | None, parse: Callable[[str, str], tuple[str, ...]],
                 default: tuple[str, ...], *env_names: str) -> tuple[str, ...]:
    """The flag's parsed value, else the environment's default; neither is bad input."""
    if raw is not None:
        return parse(flag, raw)
    if default:
        return default
    raise ConfigError(f"no {flag.lstrip('-')}: pass {flag} or set {' or '.join(env_names)}")


def parse_shard(raw: str | None, cfg: JobConfig) -> tuple[int, int]:
    """``--shard INDEX/COUNT``, else Batch's array index and size, else the one shard ``(0, 1)``."""
    if raw is None:
        if cfg.array_index is not None and cfg.array_size is not None:
            return cfg.array_index, cfg.array_size
        return 0, 1
    parts = raw.split("/")
    if len(parts) != 2:
        raise ConfigError(f"--shard={raw!r} is invalid: expected INDEX/COUNT such as 0/4")
    count = parse_int("--shard COUNT", parts[1], 1, 10_000)
    return parse_int("--shard INDEX", parts[0], 0, count - 1), count


def shard(symbols: Sequence[str], index: int, count: int) -> tuple[str, ...]:
    """This shard's symbols: an exact, stable partition (round-robin over the given order).

    Every symbol lands in exactly one of the ``count`` shards, and the same one on a retry.
    """
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard index {index} of {count} is invalid: expected 0 <= index < count, count >= 1")
    return tuple(symbols[index::count])


def make_run_id(cfg: JobConfig, symbols: Sequence[str], horizons: Sequence[str],
                today: datetime | None = None) -> str:
    """A run id that a retry of the same run reproduces.

    On AWS Batch it is the parent job's id (array children ``<id>:<index>`` share it, and
    retries keep it). Locally it is the UTC date plus a digest of the configuration, symbols
    and horizons, so re-running the same command on the same day is the same run.
    """
    if cfg.batch_job_id:
        return "batch-" + cfg.batch_job_id.split(":")[0]
    day = (today or datetime.now(UTC)).strftime("%Y%m%d")
    payload = json.dumps([sorted(cfg.to_env().items()), list(symbols), list(horizons)])
    return f"local-{day}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def default_workers() -> int:
    """One worker per available core."""
    return max(1, len(os.sched_getaffinity(0)))
