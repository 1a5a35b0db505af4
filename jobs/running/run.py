"""One run of the forecast job: prepare the database, claim, compute, then publish each task once.

``prepare_database`` reaches (and, locally, migrates and seeds) the database before any work, and
settles the run's date: the first attempt of a run records it, and a retry keeps it.
``run`` claims each symbol-horizon of the plan, skips those the run id already finished (an
earlier attempt, or a concurrent process with the same run id), refuses what ``jobs.running.intake``
refuses up front (unknown symbols: data incidents, recorded through their claims like any task),
computes the rest, and publishes each task's metrics after its rows and publish stamp committed
together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any, Protocol

from psycopg import Connection
from psycopg import Error as PsycopgError

from jobs.contract.domain import HORIZONS
from jobs.contract.values import ConfigError
from jobs.forecasting.results import DATA, PIPELINE, SymbolOutcome
from jobs.running.intake import triage
from jobs.running.plan import Plan
from jobs.running.runner import Task, run_tasks
from jobs.running.summary import progress
from jobs.storage.db import DatabaseUnavailable, connect, migrate, pending_migrations, resolve_url, with_retry
from jobs.storage.forecasts import sync_stack_symbols, write_outcome
from jobs.storage.tasks import Claims, FinishedTask, begin_run, finished_tasks, new_claimer, next_attempt, unpublish

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
    """What this attempt computed, and what it found finished under the run id (the run's truth)."""

    outcomes: list[SymbolOutcome]
    skipped: int
    total: int
    # Tasks of this plan finished by an earlier attempt or by another process with the run id.
    earlier: tuple[FinishedTask, ...] = ()
    attempt: int = 1

    @property
    def earlier_failures(self) -> list[FinishedTask]:
        """The run's recorded failures (pipeline failures and data incidents) that this attempt did not compute."""
        return [t for t in self.earlier if t.state == "failed"]

    @property
    def failed(self) -> bool:
        """Whether any of the plan's symbol-horizons failed in code in this run, in any attempt.

        A failure not recorded (the database was unreachable) counts too: the run is not done. A
        recorded data incident (input refused) is reported, and does not fail the run.
        """
        return any(not o.ok and (o.failure == PIPELINE or not o.recorded) for o in self.outcomes) \
            or any(t.failure_class != DATA for t in self.earlier_failures)

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


def prepare_database(plan: Plan) -> tuple[str, Plan]:
    """Resolve, reach and (for local runs) migrate the database, settle the run's date and image, seed sample bars.

    Returns the database's URL and the plan with the run's date (``settle_run_date``).
    """
    url = resolve_url(plan.cfg.database_url, plan.cfg.data_dir)
    check_connection(url)
    if plan.cfg.rollout_phase == "local":
        migrate(url)
    elif pending := pending_migrations(url):
        # Deployed job roles have no DDL rights: the stack applies migrations, not the job.
        raise DatabaseUnavailable(f"schema is behind: pending migrations {', '.join(pending)}; "
                                  "apply them with `python -m jobs.migrate` (the stack does this on deploy)")
    plan = settle_run_date(plan, url)  # first: a refused --as-of or image leaves every other row as it was
    if plan.cfg.rollout_phase != "local":
        sync_membership(plan, url)
    if plan.sample_data:
        from jobs.storage.sample_data import database_is_empty, seed_sample_bars

        if database_is_empty(url):
            timeframes = sorted({HORIZONS[h].timeframe for h in plan.horizons})
            n = seed_sample_bars(url, plan.symbols, timeframes, seed=plan.cfg.seed,
                                 exchange=plan.cfg.exchange_calendar)
            log.info("seeded %d labelled sample bars into an empty database (see ohlc_bars.source)", n)
    return url, plan


def settle_run_date(plan: Plan, url: str) -> Plan:
    """The plan with the run's date: the one its first attempt recorded (``forecast_runs``), with its image.

    The first attempt of a run records the plan's date and the image it runs (``IMAGE_REF``;
    unknown without it). A retry without ``--as-of`` keeps the recorded date, even when today
    has moved on (a retry after midnight), and says so in one log line; a retry with another
    ``--as-of`` is bad input: one run has one date. So is a retry with another image: one run has
    one image, or the promotion gate would count rows of one image as another's. A retry whose
    image is unknown, or of a run whose first attempt's image is unknown, resumes as the same image.
    """
    if plan.as_of is None:  # no date asked for (a plan built without one): nothing to keep
        return plan
    as_of, recorder, image = plan.as_of, new_claimer(), plan.cfg.image_ref  # a lost ack finds its own row
    recorded = with_retry(url, lambda conn: begin_run(conn, plan.run_id, as_of, recorder, image))
    if image is not None and recorded.image_ref not in (None, image):
        raise ConfigError(f"IMAGE_REF={image} is not the image of run {plan.run_id}: its first attempt ran "
                          f"{recorded.image_ref}; a run has one image: retry it with that image, or pass a new "
                          "--run-id to run this one")
    if recorded.first or (recorded.as_of == as_of and plan.as_of_given):
        return plan
    at = recorded.recorded_at.astimezone(UTC)
    first = f"{recorded.as_of:%Y-%m-%d}, recorded by its first attempt at {at:%Y-%m-%d %H:%M} UTC"
    if plan.as_of_given:
        raise ConfigError(f"--as-of={as_of:%Y-%m-%d} is not the date of run {plan.run_id}: its date is {first}; "
                          f"a run has one date: drop --as-of to resume the run for {recorded.as_of:%Y-%m-%d}, "
                          f"or pass a new --run-id to forecast for {as_of:%Y-%m-%d}")
    today = "" if recorded.as_of == as_of else f" (today's date would be {as_of:%Y-%m-%d})"
    log.info("run %s keeps its date %s%s", plan.run_id, first, today)
    return replace(plan, as_of=recorded.as_of)


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
    """Claim, compute, write and publish every task of the plan that this run id has not finished.

    Each task is claimed first (``jobs.storage.tasks``): a task an earlier attempt finished is
    skipped; one a live process with the same run id holds is left to it, and afterwards read (or
    taken over, if that process died). A task's rows and publish stamp commit together, and only
    then are its metrics published, by this process: every Sum metric once per symbol-horizon and
    run. ``ForecastsExpected`` goes out with a task's first claim in the run.
    """
    order = [(s, h) for h in plan.horizons for s in plan.symbols]
    attempt = plan.cfg.batch_attempt or with_retry(url, lambda conn: next_attempt(conn, plan.run_id))
    outcomes: list[SymbolOutcome] = []
    with Claims(url, plan.run_id, attempt) as claims:
        mine, busy = claim_all(claims, order, publisher)
        outcomes += compute_claimed(plan, url, publisher, claims, mine)
        if busy:  # held by a live process with this run id: wait for it, take over what it left
            log.info("%d symbol-horizon(s) of run %s are being computed by another process; waiting for it",
                     len(busy), plan.run_id)
            late = claim_all(claims, busy, publisher, wait=True)[0]
            outcomes += compute_claimed(plan, url, publisher, claims, late)
    position = {task: i for i, task in enumerate(order)}
    outcomes.sort(key=lambda o: position[(o.symbol, o.horizon)])
    computed = {(o.symbol, o.horizon) for o in outcomes}
    earlier = tuple(sorted((t for t in _finished(url, plan.run_id) if (t.symbol, t.horizon) in position
                            and (t.symbol, t.horizon) not in computed), key=lambda t: position[(t.symbol, t.horizon)]))
    return RunResult(outcomes, len(order) - len(outcomes), len(order), earlier, attempt)


def claim_all(claims: Claims, tasks: Sequence[tuple[str, str]], publisher: Publisher, wait: bool = False
              ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Claim ``tasks``: those now this process's, and those a live process holds (none with ``wait``).

    The first claim of a task in the run announces it (``ForecastsExpected``), once whichever
    attempt or process makes it.
    """
    mine, busy, first = [], [], []
    for symbol, horizon in tasks:
        claim = claims.claim(symbol, horizon, wait=wait)
        if claim.result == "claimed":
            mine.append((symbol, horizon))
            if claim.first:
                first.append((symbol, horizon))
        elif claim.result == "busy":
            busy.append((symbol, horizon))
    if first:
        _best_effort(lambda: publisher.expected(first), "publishing ForecastsExpected")
    return mine, busy


def compute_claimed(plan: Plan, url: str, publisher: Publisher, claims: Claims, tasks: list[tuple[str, str]]
                    ) -> list[SymbolOutcome]:
    """Run the claimed tasks, publishing each as its rows commit.

    Tasks whose symbol has no bars of the horizon's timeframe (an unknown symbol) are refused up
    front as data incidents, all in one transaction: no worker, no model (``jobs.running.intake``).
    A quarantined symbol's task only checks its bars, and fits when they pass.
    """
    intake = with_retry(url, lambda conn: triage(conn, tasks))
    outcomes = record_refusals(plan, url, claims, list(intake.refused)) if intake.refused else []
    _publish(publisher, claims, url, plan.run_id, outcomes)
    skip = {(o.symbol, o.horizon) for o in intake.refused}
    todo = [Task(s, h, plan.run_id, claims.claimer, plan.as_of, intake.quarantined.get(s))
            for s, h in tasks if (s, h) not in skip]
    with progress(len(todo)) as advance:
        def finished(outcome: SymbolOutcome) -> None:
            advance(outcome)
            _publish(publisher, claims, url, plan.run_id, [outcome])

        outcomes += run_tasks(todo, plan.cfg, url, plan.workers, on_done=finished)
    return outcomes


def record_refusals(plan: Plan, url: str, claims: Claims, refused: list[SymbolOutcome]) -> list[SymbolOutcome]:
    """Record the tasks refused up front, all in one transaction through their claims: no worker, no model.

    Not recorded when the database cannot be reached: then nothing is published, and a retry of
    the run refuses them again.
    """
    def work(conn: Connection[Any]) -> None:
        for outcome in refused:
            write_outcome(conn, outcome, plan.cfg, plan.run_id, claims.claimer, plan.as_of)

    try:
        with_retry(url, work)
    except DatabaseUnavailable as exc:
        return [replace(o, error=f"{o.error}; {exc}") for o in refused]
    return [replace(o, recorded=True) for o in refused]


def _publish(publisher: Publisher, claims: Claims, url: str, run_id: str, outcomes: Sequence[SymbolOutcome]) -> None:
    """Publish the outcomes whose rows (and publish stamp) committed, then let go of their claims.

    An outcome that is not recorded publishes nothing: its task is not finished, and a retry of
    the run computes it. If publishing fails, the stamp is cleared so that a retry publishes it.
    """
    recorded = [o for o in outcomes if o.recorded]
    if recorded and not _best_effort(lambda: publisher(recorded), "publishing the metrics of " + _names(recorded)):
        for o in recorded:
            try:
                with_retry(url, lambda conn: unpublish(conn, run_id, o.symbol, o.horizon, claims.claimer))  # noqa: B023
                log.warning("%s %s: its rows are committed; a retry of run %s publishes its metrics",
                            o.symbol, o.horizon, run_id)
            except (DatabaseUnavailable, PsycopgError):
                log.error("%s %s: its metrics were not published and the database could not be told; a retry "
                          "of run %s will not publish them", o.symbol, o.horizon, run_id)
    for o in outcomes:
        if not o.recorded:
            log.warning("%s %s: not recorded (%s); nothing published, and a retry of run %s computes it",
                        o.symbol, o.horizon, o.error, run_id)
        claims.release(o.symbol, o.horizon)


def _finished(url: str, run_id: str) -> list[FinishedTask]:
    """The run's finished tasks; none when the database cannot say (this attempt's own outcomes still count)."""
    try:
        return with_retry(url, lambda conn: finished_tasks(conn, run_id))
    except DatabaseUnavailable as exc:
        log.warning("could not read which tasks earlier attempts of run %s finished: %s", run_id, exc)
        return []


def _names(outcomes: Sequence[SymbolOutcome]) -> str:
    shown = ", ".join(f"{o.symbol} {o.horizon}" for o in outcomes[:5])
    return shown + (f" and {len(outcomes) - 5} more" if len(outcomes) > 5 else "")


def _best_effort(publish: Callable[[], object], what: str) -> bool:
    """Run ``publish``; on failure log that ``what`` failed and return False."""
    try:
        publish()
        return True
    except Exception:  # metrics are best-effort; the caller says what happens to the task
        log.exception("%s failed", what)
        return False
