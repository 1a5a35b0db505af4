"""One run of the forecast job: prepare the database, resume, compute, then publish and stamp each task.

``prepare_database`` reaches (and, locally, migrates and seeds) the database before any work.
``run`` skips the symbol-horizons an earlier attempt of the same run id already wrote and
published, runs the rest, and publishes each task's metrics as soon as its rows commit; only
then is the task stamped published, so a kill between the two makes the retry publish it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from jobs.contract.domain import HORIZONS
from jobs.forecasting.results import SymbolOutcome
from jobs.running.plan import Plan
from jobs.running.runner import Task, run_tasks
from jobs.running.summary import progress
from jobs.storage.db import DatabaseUnavailable, connect, migrate, pending_migrations, resolve_url, with_retry
from jobs.storage.forecasts import mark_published, sync_stack_symbols, written_tasks

# The command's logger name: the job's log lines read as they did before this module was split out.
log = logging.getLogger("jobs.unified_forecast_job")


class Publisher(Protocol):
    """Where a run's metrics go (``jobs.monitoring.publisher.RunPublisher``, given by the command)."""

    def __call__(self, outcomes: Sequence[SymbolOutcome]) -> int:
        """Publish the metrics of finished tasks."""
        ...

    def expected(self, tasks: Iterable[tuple[str, str]]) -> int:
        """Publish ``ForecastsExpected`` for ``(symbol, horizon)`` tasks."""
        ...


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


def check_connection(url: str) -> None:
    """Fail fast (``DatabaseUnavailable``) when the database cannot be reached."""
    with connect(url) as conn:
        conn.execute("SELECT 1")


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


def run(plan: Plan, url: str, publisher: Publisher) -> RunResult:
    """Compute, write and publish every task of the plan that this run id has not written yet.

    A retry of the same run (a Batch retry keeps the job id) resumes: the symbol-horizons whose
    rows an earlier attempt committed are skipped. Each task's metrics are published as soon as
    its rows commit, so what a run publishes is exactly what it computed, once. The run's first
    attempt also publishes ``ForecastsExpected`` for every task of its shard.
    """
    tasks = [Task(s, h, plan.run_id) for h in plan.horizons for s in plan.symbols]
    done = with_retry(url, lambda conn: written_tasks(conn, plan.run_id))
    todo = [t for t in tasks if (t.symbol, t.horizon) not in done]
    attempt = plan.cfg.batch_attempt  # AWS_BATCH_JOB_ATTEMPT; outside Batch, a run that wrote nothing yet
    first_attempt = attempt == 1 if attempt is not None else not done
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

        outcomes = run_tasks(todo, plan.cfg, url, plan.workers, on_done=finished)
    result = RunResult(outcomes, len(tasks) - len(todo), len(tasks))
    if note := result.resume_note(plan.run_id):
        log.info(note)
    return result


def _best_effort(publish: Callable[[], object], what: str) -> bool:
    """Run ``publish``; on failure log that ``what`` failed and return False (rows are already committed)."""
    try:
        publish()
        return True
    except Exception:  # metrics are best-effort: the rows are already committed
        log.exception("%s failed; database rows are unaffected", what)
        return False
