"""Faults against real PostgreSQL: dropped connections, a killed worker, a killed job.

The job runs for real (on sample bars, 1D, with the stand-in model set of
``tests.support.models``: these tests are about processes, not models), as a subprocess where a
process is killed and in-process where only the database misbehaves. After every fault the
same run id is run again (in-process: the re-run is about rows, not processes) and the rows are
counted exactly: one forecast per symbol-horizon, one metrics row per walk-forward window,
nothing duplicated, nothing lost.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg import sql

from jobs.forecasting.results import SymbolOutcome
from jobs.forecasting.walkforward import DEFAULT_SPECS
from jobs.running.runner import (
    POOL_RESTARTS,
    TASKS_PER_WORKER_PER_POOL,
    Task,
    execute_task,
    run_tasks,
)
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.support.models import stand_in_config, stand_in_env

ROOT = Path(__file__).resolve().parents[2]
# Two rounds of tasks on two workers: both are still busy when the first forecast lands.
SYMBOLS = ("AAPL", "NVDA", "GOOGL", "AMZN")
WINDOWS = DEFAULT_SPECS["1d"].windows
JOB_TIMEOUT = 150.0


def job_command(run_id: str, symbols: tuple[str, ...] = SYMBOLS) -> list[str]:
    """The CLI the fault tests start and start again."""
    return [sys.executable, "-m", "jobs.unified_forecast_job", "--symbols", ",".join(symbols),
            "--horizon", "1D", "--workers", "2", "--run-id", run_id]


def job_env(url: str, data_dir: Path) -> dict[str, str]:
    """The job's environment: this test's database, metrics lines kept out of the checkout, stand-in models."""
    return {**os.environ, **stand_in_env(), "DATABASE_URL": url, "FORECAST_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT)}


def scalar(url: str, query: str | sql.Composed, params: dict[str, object] | None = None) -> int:
    """The single integer a query returns."""
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params or {}).fetchone()
    return int(row[0]) if row else 0


def forecast_count(url: str, run_id: str) -> int:
    """Forecast rows written for ``run_id`` so far."""
    return scalar(url, "SELECT COUNT(*) FROM forecasts WHERE run_id = %(r)s", {"r": run_id})


def assert_complete_run(url: str, run_id: str, symbols: tuple[str, ...]) -> None:
    """Exactly one forecast per symbol and one metrics row per window, no failure left recorded."""
    with psycopg.connect(url) as conn:
        forecasts = conn.execute("SELECT symbol, COUNT(*) FROM forecasts WHERE run_id = %(r)s GROUP BY symbol",
                                 {"r": run_id}).fetchall()
        metrics = conn.execute("SELECT symbol, COUNT(*), COUNT(DISTINCT window_id) FROM ensemble_validation_metrics "
                               "WHERE run_id = %(r)s GROUP BY symbol", {"r": run_id}).fetchall()
        failures = conn.execute("SELECT symbol, reason FROM forecast_failures WHERE run_id = %(r)s",
                                {"r": run_id}).fetchall()
    assert sorted(forecasts) == sorted((s, 1) for s in symbols)
    assert sorted(metrics) == sorted((s, WINDOWS, WINDOWS) for s in symbols)
    assert failures == []


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def pool_workers(pid: int) -> list[psutil.Process]:
    """The job's worker processes (spawned pool children, not multiprocessing's resource tracker)."""
    return [c for c in psutil.Process(pid).children(recursive=True) if "spawn_main" in command_line(c)]


def command_line(proc: psutil.Process) -> str:
    """A process's command line; empty once it has exited (pools replace workers all the time)."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


@contextmanager
def running_job(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start the job as a subprocess; make sure it and its workers are gone afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        survivors = [proc] if proc.poll() is None else []
        try:
            survivors += psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        for p in survivors:
            p.kill()
        proc.wait(timeout=30)


@pytest.fixture()
def seeded_url(db_url: str) -> str:
    """A migrated database holding sample daily bars for ``SYMBOLS``."""
    seed_sample_bars(db_url, SYMBOLS, ["1d"])
    return db_url


def await_first_forecast(proc: subprocess.Popen[bytes], url: str, run_id: str) -> None:
    """Block until the running job has committed its first forecast, with work still left to do."""
    wait_for(lambda: forecast_count(url, run_id) >= 1 or proc.poll() is not None, JOB_TIMEOUT,
             "the first forecast row")
    assert proc.poll() is None, "the job finished before the fault could be injected"
    assert forecast_count(url, run_id) < len(SYMBOLS)


def rerun(run_id: str, env: dict[str, str]) -> None:
    """Run the same run id again and require it to succeed.

    The re-run's subject is what it resumes (claims and rows), not processes: the real CLI's
    ``main`` runs in this process on one worker, sparing a Python start and two pool workers
    (about 5 s of CPU) per re-run. The faults themselves are injected into subprocesses.
    """
    argv = job_command(run_id)[3:]  # after `python -m jobs.unified_forecast_job`
    argv[argv.index("--workers") + 1] = "1"
    assert main(argv, env) == 0


def test_a_killed_worker_loses_nothing_and_a_rerun_adds_nothing(seeded_url: str, tmp_path: Path) -> None:
    run_id, log = "fault-kill-worker", tmp_path / "first.log"
    env = job_env(seeded_url, tmp_path)
    with running_job(job_command(run_id), env, log) as proc:
        await_first_forecast(proc, seeded_url, run_id)
        pool_workers(proc.pid)[0].send_signal(signal.SIGKILL)
        # The pool is rebuilt and the dead worker's task runs again: the first run itself completes.
        assert proc.wait(timeout=JOB_TIMEOUT) == 0, log.read_text()[-3000:]
    assert "a worker process died; re-running" in log.read_text()  # the kill did land mid-run
    assert_complete_run(seeded_url, run_id, SYMBOLS)
    before = scalar(seeded_url, "SELECT COUNT(*) FROM ensemble_validation_metrics")

    rerun(run_id, env)
    assert_complete_run(seeded_url, run_id, SYMBOLS)
    assert scalar(seeded_url, "SELECT COUNT(*) FROM ensemble_validation_metrics") == before
    assert scalar(seeded_url, "SELECT COUNT(*) FROM forecasts") == len(SYMBOLS)


def test_a_killed_job_leaves_no_workers_and_the_rerun_completes(seeded_url: str, tmp_path: Path) -> None:
    run_id = "fault-kill-main"
    env = job_env(seeded_url, tmp_path)
    with running_job(job_command(run_id), env, tmp_path / "first.log") as proc:
        await_first_forecast(proc, seeded_url, run_id)
        workers = pool_workers(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # Orphaned workers notice and exit instead of running on (or hanging) without their job.
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert alive == [], f"workers outlived the killed job: {[p.pid for p in alive]}"
    assert 1 <= forecast_count(seeded_url, run_id) < len(SYMBOLS)  # the killed run left a partial run

    rerun(run_id, env)
    assert_complete_run(seeded_url, run_id, SYMBOLS)


@contextmanager
def connections_dropped_on_write(url: str, times: int) -> Iterator[None]:
    """The next ``times`` forecast writes lose their connection mid-transaction, for real.

    A trigger on ``forecasts`` terminates its own backend (``pg_terminate_backend``) while the
    task's write transaction is open: the client sees a dropped connection and the database
    rolls the transaction back. A sequence counts the drops, since a sequence is not undone
    by the rollback. Deterministic, unlike racing a killer thread against short transactions.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE fault_drops")
        conn.execute("CREATE TABLE fault_budget (n BIGINT NOT NULL)")
        conn.execute("INSERT INTO fault_budget (n) VALUES (%(n)s)", {"n": times})
        conn.execute("""
            CREATE FUNCTION drop_connection() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('fault_drops') <= (SELECT n FROM fault_budget) THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$""")
        conn.execute("CREATE TRIGGER drop_connection BEFORE INSERT ON forecasts "
                     "FOR EACH ROW EXECUTE FUNCTION drop_connection()")
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER drop_connection ON forecasts")
            conn.execute("DROP FUNCTION drop_connection()")
            conn.execute("DROP TABLE fault_budget")
            conn.execute("DROP SEQUENCE fault_drops")


def test_dropped_connections_are_retried_and_the_run_completes(seeded_url: str, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    symbols = SYMBOLS[:2]
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D", "--workers", "1", "--run-id", "fault-drop"]
    with connections_dropped_on_write(seeded_url, times=2), caplog.at_level(logging.WARNING, logger="jobs.storage.db"):
        status = main(argv, {**stand_in_env(), "DATABASE_URL": seeded_url, "FORECAST_DATA_DIR": str(tmp_path)})
    retries = [r.getMessage() for r in caplog.records  # this run's thread only: the logger is process-wide
               if "database error (attempt" in r.getMessage() and r.thread == threading.get_ident()]
    assert len(retries) == 2 and all("terminating connection" in m for m in retries), retries
    assert status == 0
    assert_complete_run(seeded_url, "fault-drop", symbols)


def test_a_database_that_keeps_dropping_fails_the_symbol_with_the_reason_and_writes_nothing(
        seeded_url: str) -> None:
    with connections_dropped_on_write(seeded_url, times=1_000):
        outcome = execute_task(Task("AAPL", "1D", "fault-gone"), stand_in_config(), seeded_url)
    assert not outcome.ok and outcome.forecast is None
    assert outcome.error is not None
    assert outcome.error.startswith("database write failed after 3 attempts: ")
    assert "terminating connection due to administrator command" in outcome.error
    for table in ("forecasts", "ensemble_validation_metrics", "forecast_failures", "symbol_metadata"):
        assert scalar(seeded_url, sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table))) == 0, table


def test_tasks_whose_workers_keep_dying_fail_with_the_reason_after_the_restarts(seeded_url: str) -> None:
    stop = threading.Event()
    killed: set[int] = set()

    def kill_every_worker() -> None:  # an OOM killer that never relents
        while not stop.is_set():
            for child in pool_workers(os.getpid()):
                try:
                    child.kill()
                    killed.add(child.pid)
                except psutil.NoSuchProcess:
                    continue
            time.sleep(0.05)

    killer = threading.Thread(target=kill_every_worker, daemon=True)
    killer.start()
    tasks = [Task(s, "1D", "fault-oom") for s in SYMBOLS[:2]]
    try:
        outcomes = run_tasks(tasks, stand_in_config(), seeded_url, workers=2)
    finally:
        stop.set()
        killer.join(timeout=10)
    assert len(killed) >= POOL_RESTARTS + 1  # every pool, including the restarts, lost its workers
    assert [(o.symbol, o.ok) for o in outcomes] == [(t.symbol, False) for t in tasks]
    reason = f"worker process died {POOL_RESTARTS + 1} times with this task unfinished"
    assert all(o.error and o.error.startswith(reason) for o in outcomes), outcomes
    with psycopg.connect(seeded_url) as conn:
        failures = conn.execute("SELECT symbol, reason FROM forecast_failures WHERE run_id = 'fault-oom' "
                                "ORDER BY symbol").fetchall()
    assert [s for s, _ in failures] == sorted(t.symbol for t in tasks)
    assert all(r.startswith(reason) for _, r in failures)
    assert forecast_count(seeded_url, "fault-oom") == 0


def test_a_long_run_recycles_its_pools_and_never_stalls(seeded_url: str) -> None:
    # ProcessPoolExecutor(max_tasks_per_child=...) hangs on Python 3.11 once workers reach the
    # limit with tasks still queued (CPython gh-115634); the runner recycles whole pools instead.
    # Symbols without bars fail in milliseconds, so 2.1 pools' worth of tasks stays cheap.
    count = 2 * 2 * TASKS_PER_WORKER_PER_POOL + 10
    tasks = [Task(f"NOBARS{i}", "1D", "fault-long") for i in range(count)]
    outcomes: list[SymbolOutcome] = []
    seen: set[int] = set()
    runner = threading.Thread(target=lambda: outcomes.extend(run_tasks(tasks, stand_in_config(), seeded_url, workers=2)),
                              daemon=True)
    runner.start()
    while runner.is_alive() and len(seen) < 100:
        seen.update(p.pid for p in pool_workers(os.getpid()))
        runner.join(timeout=0.05)
    runner.join(timeout=JOB_TIMEOUT)
    assert not runner.is_alive(), "run_tasks stalled with tasks still queued"
    assert [o.symbol for o in outcomes] == [t.symbol for t in tasks]
    assert all(o.error and "0 found, need at least" in o.error for o in outcomes)
    assert len(seen) == 2 * 3  # three pools of two workers: 100 + 100 + 10 tasks
    assert scalar(seeded_url, "SELECT COUNT(*) FROM forecast_failures WHERE run_id = 'fault-long'") == count


def test_stopping_a_pool_leaves_the_exit_hook_no_open_wake_up_pipe() -> None:
    """Python 3.11's exit hook writes to every live pool's wake-up pipe unlocked; a pipe the pool's
    manager thread is still closing makes it print "Bad file descriptor". ``_stop_pool`` returns
    only once that thread has closed its pipe (``shutdown`` drops the reference to it, so it must
    be read first)."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import process as futures_process
    from multiprocessing import get_context

    from jobs.running.runner import _stop_pool

    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    pool.submit(time.sleep, 30)
    manager = pool._executor_manager_thread
    wake_up = futures_process._threads_wakeups[manager]
    _stop_pool(pool)
    assert not manager.is_alive(), "the pool's manager thread outlived _stop_pool"
    assert wake_up._closed, "the wake-up pipe the exit hook writes to is still open"
