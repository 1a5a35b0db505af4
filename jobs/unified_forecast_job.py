"""The forecast job: ``python -m jobs.unified_forecast_job --symbols AAPL,MSFT,SPY --horizon 1D``.

Exit status: 0 every symbol forecast or refused as a data incident (recorded and reported); 1 a
symbol failed in code (a pipeline failure) or the database was unreachable; 2 bad input
(configuration, environment, command line), reported before any row is written.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from jobs.cli import EXIT_FAULT, EXIT_OK, OneLineParser, argv_or_sys, run_command
from jobs.contract.config import (
    HORIZONS,
    ConfigError,
    JobConfig,
    parse_horizons,
    parse_int,
    parse_run_id,
    parse_symbols,
)
from jobs.forecasting.calendar import exchange_today
from jobs.forecasting.results import SymbolOutcome
from jobs.monitoring.publisher import RunPublisher
from jobs.running.intake import triage, unknown_symbols
from jobs.running.logs import log_metrics_to, setup_logging
from jobs.running.runner import (
    Task,
    check_connection,
    default_workers,
    make_run_id,
    run_tasks,
    shard,
)
from jobs.running.summary import print_summary, progress
from jobs.storage.db import (
    DatabaseUnavailable,
    migrate,
    pending_migrations,
    resolve_url,
    with_retry,
)
from jobs.storage.forecasts import mark_published, sync_stack_symbols, write_outcome, written_tasks

log = logging.getLogger("jobs.unified_forecast_job")


def build_parser() -> OneLineParser:
    """The command line."""
    p = OneLineParser(prog="python -m jobs.unified_forecast_job", description=__doc__.splitlines()[0])
    p.add_argument("--symbols", help="comma-separated symbols (default: ROLLOUT_SYMBOLS, else CANARY_SYMBOLS)")
    p.add_argument("--horizon", help=f"comma-separated horizons from {', '.join(HORIZONS)} "
                                     "(default: ROLLOUT_HORIZONS, else CANARY_HORIZONS)")
    p.add_argument("--workers", default=None, help="worker processes (default: one per core)")
    p.add_argument("--run-id", default=None, help="run id (default: the Batch job id, else derived from the "
                                                  "configuration and the date, so a re-run is the same run)")
    p.add_argument("--shard", default=None, metavar="INDEX/COUNT",
                   help="run only this shard of the symbols, e.g. 0/4 (default: AWS_BATCH_JOB_ARRAY_INDEX/SIZE)")
    p.add_argument("--sample-data", choices=("auto", "never"), default="auto",
                   help="auto: seed labelled sample bars into an empty local database (ROLLOUT_PHASE=local)")
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                   help="the run's date, which MAX_STALE_SESSIONS measures each symbol's last bar against "
                        "(default: today where EXCHANGE_CALENDAR trades)")
    return p


@dataclass(frozen=True)
class Plan:
    """Everything validated before the first row is written."""

    cfg: JobConfig
    symbols: tuple[str, ...]
    horizons: tuple[str, ...]
    workers: int
    run_id: str
    sample_data: bool
    attempt: int | None = None  # AWS_BATCH_JOB_ATTEMPT (1 first), None outside Batch
    as_of: date | None = None  # the run's date (freshness); None: not checked


def make_plan(argv: Sequence[str], env: Mapping[str, str]) -> Plan:
    """Validate the command line and environment; raise ``ConfigError``/``UsageError`` on bad input."""
    args = build_parser().parse_args(list(argv))
    cfg = JobConfig.from_env(env)
    symbols = _flag_or_env("--symbols", args.symbols, parse_symbols, cfg.default_symbols, "ROLLOUT_SYMBOLS",
                           "CANARY_SYMBOLS")
    horizons = _flag_or_env("--horizon", args.horizon, parse_horizons, cfg.default_horizons, "ROLLOUT_HORIZONS",
                            "CANARY_HORIZONS")
    workers = parse_int("--workers", args.workers, 1, 64) if args.workers is not None else default_workers()
    index, count = _shard_of(args.shard, cfg)
    mine = shard(symbols, index, count)
    if args.run_id is not None:
        run_id = parse_run_id("--run-id", args.run_id)
    elif env.get("FORECAST_RUN_ID"):
        run_id = parse_run_id("FORECAST_RUN_ID", env["FORECAST_RUN_ID"])
    else:
        run_id = make_run_id(cfg, symbols, horizons, dict(env))
    sample = args.sample_data == "auto" and cfg.rollout_phase == "local"
    attempt = parse_int("AWS_BATCH_JOB_ATTEMPT", env["AWS_BATCH_JOB_ATTEMPT"], 1, 10) \
        if env.get("AWS_BATCH_JOB_ATTEMPT") else None
    as_of = _as_of(args.as_of) if args.as_of is not None else exchange_today(cfg.exchange_calendar)
    return Plan(cfg, mine, horizons, min(workers, max(1, len(mine) * len(horizons))), run_id, sample, attempt, as_of)


def _as_of(raw: str) -> date:
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


def _shard_of(raw: str | None, cfg: JobConfig) -> tuple[int, int]:
    if raw is None:
        if cfg.array_index is not None and cfg.array_size is not None:
            return cfg.array_index, cfg.array_size
        return 0, 1
    parts = raw.split("/")
    if len(parts) != 2:
        raise ConfigError(f"--shard={raw!r} is invalid: expected INDEX/COUNT such as 0/4")
    count = parse_int("--shard COUNT", parts[1], 1, 10_000)
    return parse_int("--shard INDEX", parts[0], 0, count - 1), count


def prepare_database(plan: Plan) -> str:
    """Resolve, reach and (for local runs) migrate the database; seed sample bars when asked."""
    url = resolve_url(plan.cfg.database_url, plan.cfg.data_dir)
    check_connection(url)
    if plan.cfg.rollout_phase == "local":
        migrate(url)
    elif pending := pending_migrations(url):
        # Deployed job roles have no DDL rights: the stack applies migrations, not the job.
        raise DatabaseUnavailable(f"schema is behind: pending migrations {', '.join(pending)}; "
                                  "apply them with `python -m jobs.migrate` (the stack does this on deploy)")
    if plan.cfg.rollout_phase != "local":
        sync_membership(plan, url)
    if plan.sample_data:
        from jobs.storage.sample_data import database_is_empty, seed_sample_bars

        if database_is_empty(url):
            timeframes = sorted({HORIZONS[h].timeframe for h in plan.horizons})
            n = seed_sample_bars(url, plan.symbols, timeframes, seed=plan.cfg.seed,
                                 exchange=plan.cfg.exchange_calendar)
            log.info("seeded %d labelled sample bars into an empty database (see ohlc_bars.source)", n)
    return url


@dataclass(frozen=True)
class RunResult:
    """What this attempt computed, and what it found already written under the run id."""

    outcomes: list[SymbolOutcome]
    skipped: int
    total: int

    def resume_note(self, run_id: str) -> str | None:
        """One line on what resuming skipped and about how much computing that saved."""
        if not self.skipped:
            return None
        per_task = sum(o.seconds for o in self.outcomes) / len(self.outcomes) if self.outcomes else None
        saved = f"about {self.skipped * per_task:.0f}s of computing saved at {per_task:.1f}s per task" \
            if per_task is not None else "nothing left to compute"
        return (f"resumed run {run_id}: {self.skipped} of {self.total} symbol-horizons were already written and "
                f"published under this run id and were skipped, neither recomputed nor republished ({saved})")


def sync_membership(plan: Plan, url: str) -> None:
    """On the job's start in a stack: retire the phase's symbols the stack no longer lists."""
    if not plan.cfg.stack_symbols:
        log.warning("STACK_SYMBOLS is not set: symbols removed from the stack are not retired "
                    "(the review keeps expecting their forecasts)")
        return
    retired = with_retry(url, lambda conn: sync_stack_symbols(conn, plan.cfg))
    if retired:
        log.info("retired %d symbol(s) no longer listed in the %s stack: %s", len(retired), plan.cfg.stack,
                 ", ".join(retired))


def run(plan: Plan, url: str) -> RunResult:
    """Compute, write and publish every task of the plan that this run id has not written yet.

    A retry of the same run (a Batch retry keeps the job id) resumes: the symbol-horizons whose
    rows an earlier attempt committed are skipped. Each task's metrics are published as soon as
    its rows commit, so what a run publishes is exactly what it computed, once. The run's first
    attempt also publishes ``ForecastsExpected`` for every task of its shard.
    """
    tasks = [Task(s, h, plan.run_id, plan.as_of) for h in plan.horizons for s in plan.symbols]
    done = with_retry(url, lambda conn: written_tasks(conn, plan.run_id))
    todo = [t for t in tasks if (t.symbol, t.horizon) not in done]
    intake = with_retry(url, lambda conn: triage(conn, [(t.symbol, t.horizon) for t in todo]))
    refused = {(o.symbol, o.horizon) for o in intake.refused}
    todo = [replace(t, quarantine=intake.quarantined.get(t.symbol))
            for t in todo if (t.symbol, t.horizon) not in refused]
    publisher = RunPublisher(plan.cfg, plan.run_id)
    first_attempt = plan.attempt == 1 if plan.attempt is not None else not done
    if first_attempt:
        _best_effort(lambda: publisher.expected((t.symbol, t.horizon) for t in tasks),
                     "publishing ForecastsExpected")
    with progress(len(todo)) as advance:
        def finished(outcome: SymbolOutcome) -> None:
            advance(outcome)
            task = f"{outcome.symbol} {outcome.horizon}"
            if _best_effort(lambda: publisher([outcome]), f"publishing the metrics of {task}"):
                # Only now is the task finished for a retry; a kill before this line makes the
                # retry run it again (rows unchanged) and publish its metrics then, once.
                _best_effort(lambda: with_retry(url, lambda conn: mark_published(
                    conn, plan.run_id, outcome.symbol, outcome.horizon)), f"marking {task} published")

        computed = [*record_refusals(plan, url, intake.refused, publisher),
                    *run_tasks(todo, plan.cfg, url, plan.workers, on_done=finished)]
    order = {(t.symbol, t.horizon): i for i, t in enumerate(tasks)}
    outcomes = sorted(computed, key=lambda o: order[(o.symbol, o.horizon)])
    result = RunResult(outcomes, len(tasks) - len(todo) - len(intake.refused), len(tasks))
    if note := result.resume_note(plan.run_id):
        log.info(note)
    return result


def record_refusals(plan: Plan, url: str, refused: Sequence[SymbolOutcome], publisher: RunPublisher
                    ) -> Sequence[SymbolOutcome]:
    """Write, publish and stamp the tasks refused up front (unknown symbols), all in one go: no worker, no fit."""
    if not refused:
        return refused

    def write(conn: Any) -> None:
        for outcome in refused:
            write_outcome(conn, outcome, plan.cfg, plan.run_id, plan.as_of)

    with_retry(url, write)
    if _best_effort(lambda: publisher(list(refused)), f"publishing the metrics of {len(refused)} refused tasks"):
        _best_effort(lambda: with_retry(url, lambda conn: [mark_published(conn, plan.run_id, o.symbol, o.horizon)
                                                           for o in refused]), "marking the refused tasks published")
    return refused


def _best_effort(publish: Callable[[], object], what: str) -> bool:
    """Run ``publish``; on failure log that ``what`` failed and return False (rows are already committed)."""
    try:
        publish()
        return True
    except Exception:  # metrics are best-effort: the rows are already committed
        log.exception("%s failed; database rows are unaffected", what)
        return False


def report_failures(outcomes: Sequence[SymbolOutcome]) -> int:
    """Print each warning, data incident and pipeline failure on stderr; the exit status.

    An unknown symbol is named once, whatever its horizons. Data incidents are recorded and
    reported (exit 0); a pipeline failure (code raised) exits 1.
    """
    for o in outcomes:
        for warning in o.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    unknown = unknown_symbols(outcomes)
    for symbol in unknown:
        print(f"data incident: unknown symbol {symbol}: no bars stored, nothing fitted", file=sys.stderr)
    for o in outcomes:
        if o.failure == "data" and o.cause == "quarantined":
            print(f"quarantined: {o.symbol} {o.horizon}: {o.error}", file=sys.stderr)
        elif o.failure == "data" and o.cause != "unknown-symbol":
            print(f"data incident: {o.symbol} {o.horizon}: {o.error}", file=sys.stderr)
    pipeline = [o for o in outcomes if o.failure == "pipeline"]
    for o in pipeline:
        print(f"error: {o.symbol} {o.horizon}: {o.error}", file=sys.stderr)
    return EXIT_FAULT if pipeline else EXIT_OK


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the job; return the exit status."""
    environ = os.environ if env is None else env
    setup_logging()

    def body() -> int:
        plan = make_plan(argv_or_sys(argv), environ)
        started = time.perf_counter()
        url = prepare_database(plan)
        if not plan.cfg.database_url:
            # With the embedded database, metric lines go to a file beside it: the screen shows the run.
            # Attached only now, so bad input creates neither the data folder nor the file.
            log_metrics_to(plan.cfg.data_dir / "metrics.jsonl")
        result = run(plan, url)
        outcomes = result.outcomes
        print_summary(outcomes, plan.run_id, plan.cfg, time.perf_counter() - started)
        if note := result.resume_note(plan.run_id):
            print(note)
        return report_failures(outcomes)

    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
