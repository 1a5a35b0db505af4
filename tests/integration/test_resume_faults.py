"""Every step of resume faulted: a fault between each pair of the job's steps, then the run's rows and metrics.

Each symbol-horizon goes: claim -> compute -> commit (its rows and the publish stamp of
``finish_task``, one transaction) -> publish (``PutMetricData``) -> release the claim; when the
publish fails, the stamp is cleared (``unpublish_task``) so that a retry publishes it. A fault is
injected between each pair, at a real seam, in the real job path (``jobs/running``):
- the job process SIGKILLed while a table lock of this test holds it exactly at a step (the
  bars read after claiming, the forecast insert after the stamp), or while botocore holds its
  ``PutMetricData`` (``tests.support.held_publish``: before it is sent, or after it returned);
- the database connection cut: at the stamp, before the commit (a trigger ends its backend), or
  just after the commit (``tests.support.pg_proxy``: the acknowledgement is lost);
- ``PutMetricData`` failing at botocore's seam.
After each, the run is retried under its run id and the rows and every Sum metric, summed over
all attempts from moto's CloudWatch, are checked: one forecast and one set of windows per
symbol-horizon, one datapoint per Sum metric per symbol-horizon (or none, in the one window
docs/job.md leaves open), ``ForecastsExpected`` once per task. Stand-in models
(``tests.support.models``): the subject is resume, not the models.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from psycopg import sql

from jobs.contract.metrics import CRITICAL_ALERTS, FORECASTS_EXPECTED, FORECASTS_FAILED, FORECASTS_WRITTEN, MODEL_ERRORS
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.integration.test_faults import ROOT, assert_complete_run, scalar, wait_for
from tests.integration.test_resume import moto_server, per_task  # noqa: F401 - moto_server: a fixture of seeded
from tests.support.held_publish import failing_publish
from tests.support.models import stand_in_env
from tests.support.pg_proxy import LostCommitAck

SYMBOLS = ("AAPL", "NVDA")
PER_TASK_SUMS = (FORECASTS_WRITTEN, FORECASTS_FAILED, MODEL_ERRORS)  # each has a per-symbol dimension set
JOB_TIMEOUT = 240.0


@pytest.fixture()
def seeded(db_url: str, moto_server: dict[str, str]) -> str:
    """Bars for ``SYMBOLS``, and a CloudWatch that has seen nothing yet.

    moto's servers in one process share their state: a server of an earlier test would lend this
    one its datapoints, so it is reset first.
    """
    urllib.request.urlopen(urllib.request.Request(f"{moto_server['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST"),
                           timeout=30).close()
    seed_sample_bars(db_url, SYMBOLS, ["1d"])
    return db_url


def argv(run_id: str) -> list[str]:
    return ["--symbols", ",".join(SYMBOLS), "--horizon", "1D", "--workers", "1", "--run-id", run_id,
            "--sample-data", "never"]


def job_env(url: str, data: Path) -> dict[str, str]:
    """The job's own settings (the AWS ones are moto_server's, in the process environment)."""
    return {**stand_in_env(), "DATABASE_URL": url, "FORECAST_DATA_DIR": str(data)}


def retry(url: str, run_id: str, data: Path) -> int:
    """The run again under its run id, in this process (a new attempt: the database numbers it)."""
    return main(argv(run_id), job_env(url, data))


def published(symbols: tuple[str, ...] = SYMBOLS) -> dict[str, dict[str, tuple[int, float]]]:
    """Every Sum metric over all attempts, per symbol: (datapoints, sum); ``*`` for the per-horizon ones."""
    client = boto3.client("cloudwatch")
    out = {m: {s: per_task(client, m, (s,)) for s in symbols} for m in PER_TASK_SUMS}
    out[CRITICAL_ALERTS] = {"*": per_task(client, CRITICAL_ALERTS, symbols)}
    out[FORECASTS_EXPECTED] = {"*": per_task(client, FORECASTS_EXPECTED, symbols)}
    return out


def assert_published_once(missing: tuple[str, ...] = ()) -> None:
    """One datapoint per Sum metric per symbol-horizon over all attempts (none for ``missing``), all written.

    ``ForecastsExpected`` goes out once per task, with its first claim, whatever happens later.
    """
    got = published()
    for metric in PER_TASK_SUMS:
        want = {s: (0, 0.0) if s in missing else (1, float(metric == FORECASTS_WRITTEN)) for s in SYMBOLS}
        assert got[metric] == want, f"{metric}: {got[metric]}"
    assert got[CRITICAL_ALERTS]["*"][0] == len(SYMBOLS) - len(missing), got[CRITICAL_ALERTS]
    assert got[FORECASTS_EXPECTED]["*"] == (len(SYMBOLS), float(len(SYMBOLS))), got[FORECASTS_EXPECTED]


def tasks(url: str, run_id: str) -> list[tuple[Any, ...]]:
    """The run's tasks: (symbol, state, attempt, stamped)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT symbol, state, attempt, published_at IS NOT NULL FROM forecast_tasks "
                            "WHERE run_id = %(r)s ORDER BY symbol", {"r": run_id}).fetchall()


def others_gone(url: str) -> bool:
    """No session but this probe's on the database: a killed job's backends have ended (their locks with them)."""
    return scalar(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()") == 0


def waiting_on(url: str, text: str) -> bool:
    """Whether a session waits for a lock while running a statement that contains ``text``."""
    return scalar(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND position(%(t)s in query) > 0", {"t": text}) > 0


@contextmanager
def job_process(url: str, data: Path, run_id: str, *held: str) -> Iterator[subprocess.Popen[bytes]]:
    """The job as its own process (``held``: ``tests.support.held_publish``'s arguments); killed on leaving."""
    module = ["tests.support.held_publish", *held, "--"] if held else ["jobs.unified_forecast_job"]
    env = {**os.environ, **job_env(url, data), "PYTHONPATH": str(ROOT)}
    with (data / "first.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", *module, *argv(run_id)], env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def kill(proc: subprocess.Popen[bytes], data: Path) -> None:
    """SIGKILL the job mid-step: it must still be running there."""
    assert proc.poll() is None, (data / "first.log").read_text()[-3000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@contextmanager
def table_locked(url: str, table: str, mode: str) -> Iterator[None]:
    """Hold ``LOCK TABLE table IN mode MODE`` until leaving: a step that needs the table waits there."""
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.Identifier(table), sql.SQL(mode)))
        yield
        conn.rollback()


def test_killed_between_claim_and_compute_the_retry_takes_the_claims_over(
        seeded: str, tmp_path: Path) -> None:
    run_id = "fault-claimed"
    with table_locked(seeded, "ohlc_bars", "ACCESS EXCLUSIVE"), job_process(seeded, tmp_path, run_id) as proc:
        # After claiming every task (and announcing them), the job reads which symbols have bars: it waits here.
        wait_for(lambda: waiting_on(seeded, "ohlc_bars") or proc.poll() is not None, JOB_TIMEOUT, "the bars read")
        assert tasks(seeded, run_id) == [(s, "claimed", 1, False) for s in SYMBOLS]
        kill(proc, tmp_path)
    wait_for(lambda: others_gone(seeded), 60, "the killed job's sessions to end")
    assert scalar(seeded, "SELECT COUNT(*) FROM forecasts WHERE run_id = %(r)s", {"r": run_id}) == 0

    assert retry(seeded, run_id, tmp_path) == 0
    assert tasks(seeded, run_id) == [(s, "written", 2, True) for s in SYMBOLS]  # taken over by attempt 2
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()


def test_killed_between_compute_and_commit_nothing_is_kept_and_the_retry_writes_and_publishes_once(
        seeded: str, tmp_path: Path) -> None:
    run_id = "fault-computed"
    with table_locked(seeded, "forecasts", "SHARE"), job_process(seeded, tmp_path, run_id) as proc:
        # The first task computed and, in its write transaction, stamped: its forecast insert waits here.
        wait_for(lambda: waiting_on(seeded, "INSERT INTO forecasts") or proc.poll() is not None, JOB_TIMEOUT,
                 "the first task's write")
        kill(proc, tmp_path)
    wait_for(lambda: others_gone(seeded), 60, "the killed job's sessions to end")
    # The write transaction died with the process: no row, no stamp, so nothing was published.
    assert tasks(seeded, run_id) == [(s, "claimed", 1, False) for s in SYMBOLS]
    assert scalar(seeded, "SELECT COUNT(*) FROM ensemble_validation_metrics WHERE run_id = %(r)s", {"r": run_id}) == 0
    assert published()[FORECASTS_WRITTEN] == {s: (0, 0.0) for s in SYMBOLS}

    assert retry(seeded, run_id, tmp_path) == 0
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()


@contextmanager
def stamp_connection_cut(url: str, times: int) -> Iterator[None]:
    """The next ``times`` publish stamps (``finish_forecast_task``'s update) lose their connection before the commit.

    A trigger on ``forecast_tasks`` ends its own backend when a stamp is set: the write
    transaction, rows and stamp together, is rolled back, and the client sees the connection drop.
    A sequence counts the cuts (a sequence is not rolled back).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE stamp_cuts")
        conn.execute(sql.SQL("""
            CREATE FUNCTION cut_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.published_at IS NOT NULL AND OLD.published_at IS NULL AND nextval('stamp_cuts') <= {times} THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$""").format(times=sql.Literal(times)))
        conn.execute("CREATE TRIGGER cut_stamp BEFORE UPDATE ON forecast_tasks FOR EACH ROW EXECUTE FUNCTION cut_stamp()")
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER cut_stamp ON forecast_tasks")
            conn.execute("DROP FUNCTION cut_stamp()")
            conn.execute("DROP SEQUENCE stamp_cuts")


def test_a_connection_cut_at_the_stamp_before_the_commit_publishes_nothing_and_the_retry_publishes_once(
        seeded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = "fault-stamp-cut"
    with stamp_connection_cut(seeded, times=3):  # every write attempt of the first task (with_retry tries 3 times)
        assert main(argv(run_id), job_env(seeded, tmp_path)) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {SYMBOLS[0]} 1D: database write failed after 3 attempts")
    assert errors[0].endswith("(not recorded: a retry of this run computes it)")
    assert tasks(seeded, run_id) == [(SYMBOLS[0], "claimed", 1, False), (SYMBOLS[1], "written", 1, True)]
    assert published()[FORECASTS_FAILED][SYMBOLS[0]] == (0, 0.0)  # a failure that did not commit is not published

    assert retry(seeded, run_id, tmp_path) == 0
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()


def test_a_commit_whose_acknowledgement_is_lost_is_written_and_published_once(
        seeded: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run_id = "fault-lost-ack"
    with LostCommitAck(seeded, b"finish_forecast_task(") as proxy, \
            caplog.at_level(logging.WARNING, logger="jobs.storage.db"):
        # The first task's write commits, rows and stamp, but the job only sees its connection break:
        # it writes again (same claim, same keys) and publishes once.
        assert main(argv(run_id), job_env(proxy.url, tmp_path)) == 0
        assert proxy.cut
    retried = [r.getMessage() for r in caplog.records
               if "database error (attempt 1/3)" in r.getMessage() and r.thread == threading.get_ident()]
    assert len(retried) == 1, retried
    assert tasks(seeded, run_id) == [(s, "written", 1, True) for s in SYMBOLS]
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()


def test_killed_between_commit_and_publish_the_task_stays_finished_and_its_metrics_are_missing_not_doubled(
        seeded: str, tmp_path: Path) -> None:
    # The one window docs/job.md leaves open: rows and stamp committed, PutMetricData never sent.
    run_id, held = "fault-before-publish", SYMBOLS[0]
    marker = tmp_path / "held"
    with job_process(seeded, tmp_path, run_id, "before", held, str(marker)) as proc:
        wait_for(lambda: marker.exists() or proc.poll() is not None, JOB_TIMEOUT, "the held PutMetricData")
        assert tasks(seeded, run_id) == [(held, "written", 1, True), (SYMBOLS[1], "claimed", 1, False)]
        kill(proc, tmp_path)
    wait_for(lambda: others_gone(seeded), 60, "the killed job's sessions to end")

    assert retry(seeded, run_id, tmp_path) == 0
    assert tasks(seeded, run_id) == [(held, "written", 1, True), (SYMBOLS[1], "written", 2, True)]
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once(missing=(held,))  # a missing datapoint, never a doubled one


def test_killed_between_publish_and_release_the_retry_skips_the_task_and_publishes_it_no_more(
        seeded: str, tmp_path: Path) -> None:
    run_id, held = "fault-after-publish", SYMBOLS[0]
    marker = tmp_path / "held"
    with job_process(seeded, tmp_path, run_id, "after", held, str(marker)) as proc:
        wait_for(lambda: marker.exists() or proc.poll() is not None, JOB_TIMEOUT, "the published PutMetricData")
        assert published()[FORECASTS_WRITTEN][held] == (1, 1.0)
        kill(proc, tmp_path)
    wait_for(lambda: others_gone(seeded), 60, "the killed job's sessions to end")

    assert retry(seeded, run_id, tmp_path) == 0
    assert tasks(seeded, run_id) == [(held, "written", 1, True), (SYMBOLS[1], "written", 2, True)]
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()


def test_a_failed_publish_clears_the_stamp_and_the_retry_recomputes_and_publishes_once(
        seeded: str, tmp_path: Path) -> None:
    run_id, failing = "fault-publish-failed", SYMBOLS[0]
    with failing_publish(failing) as failed:
        assert main(argv(run_id), job_env(seeded, tmp_path)) == 0  # the rows are the run's truth
    assert failed == [failing]
    # Rows committed, stamp cleared after the failed PutMetricData: the task is not finished.
    assert tasks(seeded, run_id) == [(failing, "written", 1, False), (SYMBOLS[1], "written", 1, True)]
    assert published()[FORECASTS_WRITTEN] == {failing: (0, 0.0), SYMBOLS[1]: (1, 1.0)}
    with psycopg.connect(seeded) as conn:
        first = conn.execute("SELECT * FROM forecasts WHERE run_id = %(r)s ORDER BY symbol", {"r": run_id}).fetchall()

    assert retry(seeded, run_id, tmp_path) == 0
    assert tasks(seeded, run_id) == [(failing, "written", 2, True), (SYMBOLS[1], "written", 1, True)]
    with psycopg.connect(seeded) as conn:  # recomputed, but the committed rows are kept as they were
        assert conn.execute("SELECT * FROM forecasts WHERE run_id = %(r)s ORDER BY symbol",
                            {"r": run_id}).fetchall() == first
    assert_complete_run(seeded, run_id, SYMBOLS)
    assert_published_once()
