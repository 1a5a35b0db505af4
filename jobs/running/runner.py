"""Running symbol-horizon tasks: worker processes, one transaction per task (the plan is ``jobs.running.plan``)."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import psycopg

from jobs.contract.config import JobConfig
from jobs.contract.domain import Model
from jobs.forecasting.models import warm_up
from jobs.forecasting.pipeline import compute
from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.series import Series
from jobs.running.intake import admit
from jobs.running.signals import termination_held, termination_ignored
from jobs.storage.bars import load_series
from jobs.storage.db import DatabaseUnavailable, with_retry
from jobs.storage.forecasts import write_outcome

log = logging.getLogger(__name__)

# A worker that died (kill -9, OOM killer) breaks the whole pool; the pool's unfinished tasks
# run again on fresh workers, and a task left unfinished by this many + 1 pools is reported failed.
POOL_RESTARTS = 2
# Each pool runs at most this many tasks per worker and is then replaced by a fresh one, so
# memory a model leaks or fragments stays bounded. (Not ProcessPoolExecutor's own
# max_tasks_per_child: on Python 3.11-3.12 it deadlocks once workers reach the limit with tasks
# still queued, CPython gh-115634 -- a 100-symbol run on 2 workers hung after 100 tasks.)
TASKS_PER_WORKER_PER_POOL = 50
# Exit status of a worker that noticed its job process had died.
ORPHAN_EXIT_STATUS = 70


@dataclass(frozen=True)
class Task:
    """One unit of work: a symbol at a horizon in a run.

    ``as_of`` is the run's date (freshness is checked against it; None: not checked);
    ``quarantine`` says why the symbol is quarantined (its task then fits only when its bars pass).
    """

    symbol: str
    horizon: str
    run_id: str
    # The process holding the task's claim (``jobs.storage.tasks.Claims``): its rows and publish stamp
    # commit together. None for work outside a run's claims (tests, benchmarks).
    claimer: str | None = None
    as_of: date | None = None
    quarantine: str | None = None


def execute_task(task: Task, cfg: JobConfig, url: str) -> SymbolOutcome:
    """Read the task's bars, compute with no connection held, then write all its rows at once.

    Reading and writing are each retried on a dropped connection; the write is one transaction
    (every row of the symbol-horizon or none) and its inserts are keyed, so a commit that landed
    before a drop is not duplicated by the retry. The outcome is ``recorded`` once its rows
    committed; one that is not (the database was unreachable) is neither published nor skipped
    by a retry.
    """
    try:
        loaded = with_retry(url, lambda conn: load_series(conn, task.symbol, task.horizon, cfg))
        outcome = admit(loaded, task.horizon, cfg, task.as_of, task.quarantine, lambda s: _compute(s, task, cfg))
        new_events = with_retry(url, lambda conn: write_outcome(conn, outcome, cfg, task.run_id, task.claimer,
                                                                task.as_of))
        return replace(outcome, recorded=True, new_events=new_events)
    except DatabaseUnavailable as exc:
        return SymbolOutcome(task.symbol, task.horizon, error=str(exc))
    except Exception as exc:  # e.g. a write the database refuses for good: this task fails, the run goes on
        log.exception("task %s %s failed outside the pipeline", task.symbol, task.horizon)
        return record_failure(SymbolOutcome(task.symbol, task.horizon, error=f"{type(exc).__name__}: {exc}"),
                              cfg, url, task)


def _compute(series: Series, task: Task, cfg: JobConfig) -> SymbolOutcome:
    try:
        return compute(series, task.horizon, cfg)
    except Exception as exc:  # an unexpected model/pipeline bug fails this symbol only
        log.exception("task %s %s crashed", task.symbol, task.horizon)
        return SymbolOutcome(task.symbol, task.horizon, error=f"{type(exc).__name__}: {exc}")


# In a pool worker: where it reports each task index as it starts (see ``_pool_pass``).
_started: Any = None


def _init_worker(threads: int, parent_pid: int | None = None, started: Any = None, warm: tuple[Model, ...] = ()
                 ) -> None:
    global _started
    _started = started
    if parent_pid is not None:
        # A pool worker leaves Ctrl-C to the job (which stops the pool): a terminal sends SIGINT to
        # the whole process group, and a worker's own KeyboardInterrupt would print a traceback.
        # The worker started with SIGINT blocked (``_sigint_held``); ignoring it discards a pending one.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    from threadpoolctl import threadpool_limits

    # workers x threads must not oversubscribe the cores: torch's pool, and the BLAS/OpenMP
    # pools numpy and scipy load (each defaults to one spinning thread per core).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # read by libraries loaded after this point (torch too)
    threadpool_limits(threads)  # libraries already loaded
    # torch is imported only by the models that use it (about 2 s of CPU per process): a worker of
    # a set without them never loads it, and one that does sizes its pool from OMP_NUM_THREADS.
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(threads)
    warm_up(warm)  # imports and torch's first-call set-up, once per worker instead of in its first task
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _execute_reporting(index: int, task: Task, cfg: JobConfig, url: str) -> SymbolOutcome:
    """``execute_task`` in a pool worker, first telling the job which task it started."""
    if _started is not None:
        _started.put(index)
    return execute_task(task, cfg, url)


def _exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """End this worker soon after the job process dies (``kill -9``, OOM killer).

    Without it an orphaned pool worker finishes its queued tasks and then blocks forever on
    the task queue, holding its memory. Exiting mid-task is safe: the open transaction
    rolls back, and the re-run of the same run id writes the task.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(ORPHAN_EXIT_STATUS)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def run_tasks(tasks: Sequence[Task], cfg: JobConfig, url: str, workers: int,
              on_done: Callable[[SymbolOutcome], None] | None = None) -> list[SymbolOutcome]:
    """Run ``tasks`` on ``workers`` processes (inline for one); results in task order."""
    if not tasks:  # e.g. every symbol refused up front: no worker, no model library loaded
        return []
    results: dict[int, SymbolOutcome] = {}
    for i, outcome in _iter_outcomes(tasks, cfg, url, workers):
        results[i] = outcome
        if on_done:
            on_done(outcome)
    return [results[i] for i in range(len(tasks))]


def _iter_outcomes(tasks: Sequence[Task], cfg: JobConfig, url: str, workers: int
                   ) -> Iterator[tuple[int, SymbolOutcome]]:
    if workers <= 1 or len(tasks) <= 1:
        _init_worker(cfg.torch_threads)
        for i, task in enumerate(tasks):
            yield i, execute_task(task, cfg, url)
        return
    pending = dict(enumerate(tasks))
    lost: Counter[int] = Counter()  # pools that died with each task unfinished
    while pending:
        # The next pool's share: unfinished tasks of a pool that lost a worker come first.
        batch = dict(itertools.islice(pending.items(), workers * TASKS_PER_WORKER_PER_POOL))
        started: set[int] = set()
        for i, outcome in _pool_pass(batch, cfg, url, workers, started):
            del pending[i]
            yield i, outcome
        unfinished = [i for i in batch if i in pending]
        # Blame the tasks a dying worker had started; queued ones never ran and are innocent.
        # A worker killed before starting anything leaves no suspect: then every unfinished task counts.
        suspects = [i for i in unfinished if i in started] or unfinished
        lost.update(suspects)
        for i in [i for i in batch if i in pending and lost[i] > POOL_RESTARTS]:
            yield i, _given_up(pending.pop(i), cfg, url)
        if retry := sum(i in pending for i in batch):
            log.warning("a worker process died; re-running %d unfinished tasks on fresh workers", retry)


def _given_up(task: Task, cfg: JobConfig, url: str) -> SymbolOutcome:
    """The failure of a task whose workers kept dying; recorded as its worker would have (best effort)."""
    outcome = SymbolOutcome(task.symbol, task.horizon, error=(
        f"worker process died {POOL_RESTARTS + 1} times with this task unfinished (killed or out of memory); "
        "a retry of this run skips it: re-run with a new --run-id to retry it"))
    return record_failure(outcome, cfg, url, task)


def record_failure(outcome: SymbolOutcome, cfg: JobConfig, url: str, task: Task) -> SymbolOutcome:
    """Record a failed task in ``forecast_failures`` (best effort: the exit status reports it anyway).

    Returned ``recorded`` only when the failure row committed: an unrecorded failure publishes nothing.
    """
    try:
        with_retry(url, lambda conn: write_outcome(conn, outcome, cfg, task.run_id, task.claimer, task.as_of))
    except (DatabaseUnavailable, psycopg.Error) as exc:
        log.warning("could not record the failure of %s %s: %s", outcome.symbol, outcome.horizon, exc)
        return outcome
    return replace(outcome, recorded=True)


def _pool_pass(pending: dict[int, Task], cfg: JobConfig, url: str, workers: int, started: set[int]
               ) -> Iterator[tuple[int, SymbolOutcome]]:
    """Run ``pending`` on one pool; tasks lost to a dead worker are simply not yielded.

    ``started`` receives the index of every task a worker began, so a broken pool's blame
    falls on the tasks that were running, not on those still queued.
    """
    # Workers are spawned, not forked: a forked copy of an initialised torch can deadlock.
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    reports = ctx.SimpleQueue()
    try:
        yield from _run_pool(pending, cfg, url, workers, ctx, reports)
    except BaseException:  # interrupted: workers were ended, perhaps mid-report; nothing to blame
        reports.close()
        raise
    while not reports.empty():  # the pool has shut down: every report is in the pipe
        started.add(reports.get())
    reports.close()


def _run_pool(pending: dict[int, Task], cfg: JobConfig, url: str, workers: int, ctx: Any, reports: Any
              ) -> Iterator[tuple[int, SymbolOutcome]]:
    """Run ``pending`` on one pool. Interrupted (Ctrl-C) or terminated (SIGTERM), the pool is stopped and
    its workers ended: a task cut off mid-write rolls back (one transaction per task), and a re-run of the
    run id does it."""
    finished = False
    pool: ProcessPoolExecutor | None = None
    try:
        # Neither signal may cut the pool's start short, or workers would run on untracked: SIGINT is
        # blocked (workers are spawned by these calls and must not inherit a live one), SIGTERM is held;
        # either is raised once the pool exists, inside this ``try``.
        with termination_held(), _sigint_held():
            pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                       initializer=_init_worker,
                                       initargs=(cfg.torch_threads, os.getpid(), reports, (*cfg.models, *cfg.baseline_models)))
            futures = {pool.submit(_execute_reporting, i, task, cfg, url): i for i, task in pending.items()}
        yield from _collect(futures, pending)
        finished = True
    finally:
        if pool is not None and finished:
            pool.shutdown(wait=True)
        elif pool is not None:  # KeyboardInterrupt, Terminated, or the caller stopped early: leave no worker behind
            _stop_pool(pool)


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Block SIGINT in this thread while worker processes start; a Ctrl-C meanwhile arrives afterwards.

    Spawned workers inherit the blocked signal, so none can die of a KeyboardInterrupt before its
    initializer ignores SIGINT. Only the main thread receives Python's SIGINT, so only it blocks.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and end the pool's workers now, without waiting for running tasks.

    Python 3.11 has no public way to end a pool's workers (3.14 adds ``terminate_workers``), so the
    processes are read from the executor. A second Ctrl-C or SIGTERM is ignored until they are gone.
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    try:
        with termination_ignored():
            processes = list((getattr(pool, "_processes", None) or {}).values())
            # Read before shutdown: ``shutdown(wait=False)`` drops the executor's reference to it.
            manager = getattr(pool, "_executor_manager_thread", None)
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                proc.terminate()  # SIGTERM: a task cut off mid-transaction is rolled back by the server
            for proc in processes:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
            # The pool's manager thread closes its wake-up pipe as it winds down. Python 3.11's exit hook
            # writes to that pipe unlocked: racing the close, it prints "Bad file descriptor" (a traceback
            # after the one line). Waiting for the thread here leaves the hook a closed, skipped pipe.
            if manager is not None:
                manager.join(timeout=10)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def _collect(futures: dict[Future[SymbolOutcome], int], pending: dict[int, Task]
             ) -> Iterator[tuple[int, SymbolOutcome]]:
    """Each finished task's outcome as it completes; tasks lost with a broken pool are skipped."""
    for fut in as_completed(futures):
        i = futures[fut]
        try:
            outcome = fut.result()
        except BrokenProcessPool:  # a worker died: this task, and any queued, run again on a new pool
            continue
        except Exception as exc:  # execute_task returns failures, so this is the pool itself failing
            outcome = SymbolOutcome(pending[i].symbol, pending[i].horizon,
                                    error=f"worker pool error: {type(exc).__name__}: {exc}")
        yield i, outcome
