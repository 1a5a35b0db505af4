"""Every Sum metric once per symbol-horizon and run, under faults (issue 22).

The real job runs as processes against a real PostgreSQL, publishing its metrics as JSON log
lines (no AWS). Its Sum metrics (``ForecastsWritten``, ``ForecastsFailed``,
``ModelErrors``, ``CriticalAlerts``), summed over every process and attempt, are compared with the rows:
- the database is killed mid-run (SIGKILL of the server and its backends), restarted, and the
  run retried under its run id;
- two processes are started at once with one run id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from jobs.contract.metrics import (
    CRITICAL_ALERTS,
    DIM_HORIZON,
    DIM_STACK,
    DIM_SYMBOL,
    FORECASTS_EXPECTED,
    FORECASTS_FAILED,
    FORECASTS_WRITTEN,
    MODEL_ERRORS,
)
from jobs.storage.db import migrate
from jobs.storage.sample_data import seed_sample_bars
from tests.integration.test_faults import (
    ROOT,
    SYMBOLS,
    assert_complete_run,
    forecast_count,
    wait_for,
)
from tests.support.models import stand_in_env

SUM_METRICS = (FORECASTS_WRITTEN, FORECASTS_FAILED, MODEL_ERRORS, CRITICAL_ALERTS)
JOB_TIMEOUT = 240.0


def metric_records(text: str) -> list[dict[str, object]]:
    """The job's metric log lines (the no-AWS publisher writes one JSON record per datum)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{") and (record := json.loads(line)).get("event") == "metric":
            out.append(record)
    return out


def per_symbol(records: list[dict[str, object]], metric: str) -> dict[str, tuple[int, float]]:
    """``symbol -> (datapoints, sum)`` of ``metric`` at its per-symbol dimension set."""
    points: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    for r in records:
        dims = r["dimensions"]
        assert isinstance(dims, dict)
        if r["metric"] != metric or DIM_SYMBOL not in dims:
            continue
        values, counts = r["values"], r["counts"]
        assert isinstance(values, list) and isinstance(counts, list)
        points[dims[DIM_SYMBOL]] += int(sum(counts))
        sums[dims[DIM_SYMBOL]] += sum(v * c for v, c in zip(values, counts, strict=True))
    return {s: (points[s], sums[s]) for s in points}


def per_horizon(records: list[dict[str, object]], metric: str) -> tuple[int, float]:
    """``(datapoints, sum)`` of ``metric`` at its per-horizon dimension set (Stack, Horizon)."""
    points, total = 0, 0.0
    for r in records:
        dims, values, counts = r["dimensions"], r["values"], r["counts"]
        assert isinstance(dims, dict) and isinstance(values, list) and isinstance(counts, list)
        if r["metric"] == metric and set(dims) == {DIM_STACK, DIM_HORIZON}:
            points += int(sum(counts))
            total += sum(v * c for v, c in zip(values, counts, strict=True))
    return points, total


def assert_each_sum_metric_once_and_true(url: str, run_id: str, records: list[dict[str, object]]) -> None:
    """One datapoint per symbol-horizon for every Sum metric, and the sums the rows say."""
    with psycopg.connect(url) as conn:
        written = {r[0] for r in conn.execute("SELECT symbol FROM forecasts WHERE run_id = %(r)s", {"r": run_id})}
        failed = {r[0] for r in conn.execute("SELECT symbol FROM forecast_failures WHERE run_id = %(r)s",
                                             {"r": run_id})}
    for metric in SUM_METRICS:  # every one has a per-horizon set; CriticalAlerts has no per-symbol one
        assert per_horizon(records, metric)[0] == len(SYMBOLS), f"{metric}: {per_horizon(records, metric)}"
    for metric in (FORECASTS_WRITTEN, FORECASTS_FAILED, MODEL_ERRORS):
        points = per_symbol(records, metric)
        assert {s: n for s, (n, _) in points.items()} == {s: 1 for s in SYMBOLS}, f"{metric}: {points}"
    assert per_symbol(records, FORECASTS_WRITTEN) == {s: (1, float(s in written)) for s in SYMBOLS}
    assert per_symbol(records, FORECASTS_FAILED) == {s: (1, float(s in failed)) for s in SYMBOLS}
    assert per_horizon(records, FORECASTS_EXPECTED) == (len(SYMBOLS), float(len(SYMBOLS)))  # one per task


class ScratchServer:
    """A PostgreSQL server of its own (pgserver, as the embedded default starts it) that a test may kill."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""

    def start(self, tries: int = 3) -> str:
        """Start (or restart) the server in a short-lived process, as a job would; return its URL.

        pgserver gives ``pg_ctl start`` 10 s, which a loaded machine can overrun: then it tries again.
        """
        for _ in range(tries):
            done = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                   "from jobs.storage.db import embedded_url; print(embedded_url(Path(sys.argv[1])))",
                                   str(self.folder)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                                  capture_output=True, text=True, timeout=180, check=False)
            if done.returncode == 0:
                self.url = done.stdout.strip().splitlines()[-1]
                return self.url
        pytest.fail(f"the scratch server did not start: {done.stderr[-3000:]}")

    def postmaster(self) -> psutil.Process | None:
        try:
            return psutil.Process(int((self.folder / "pgdata" / "postmaster.pid").read_text().splitlines()[0]))
        except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
            return None

    def kill(self) -> None:
        """SIGKILL the server and every backend: connections break mid-transaction, nothing is shut down."""
        server = self.postmaster()
        if server is None:
            return
        victims = [server, *server.children(recursive=True)]
        for p in victims:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(victims, timeout=30)


@pytest.fixture()
def scratch_server(server_folder: Path) -> Iterator[ScratchServer]:
    server = ScratchServer(server_folder / "pg")
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Job:
    """The job as Batch starts it, its stdout and stderr going to files (stderr holds the metric lines).

    Files, not pipes: a pipe that no one reads fills at 64 KiB and blocks the writer. Two twins
    waited on one after the other then deadlock -- the first waits for the claims the second
    holds, the second for room in its stderr pipe (the hang seen in session 4).

    One worker: the job process itself claims, publishes and stamps each task whatever computes
    it, so a pool (two spawned workers, about 4 s of CPU) adds nothing to what is checked here;
    the pool's own faults are test_faults'.
    """

    def __init__(self, run_id: str, url: str, data: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        self.out, self.err = data / "stdout.txt", data / "stderr.txt"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jobs.unified_forecast_job", "--symbols", ",".join(SYMBOLS), "--horizon",
                 "1D", "--workers", "1", "--run-id", run_id],
                env={**os.environ, **stand_in_env(), "DATABASE_URL": url,
                     "FORECAST_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)},
                cwd=ROOT, stdout=out, stderr=err)

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def communicate(self, timeout: float) -> tuple[str, str]:
        """Wait for the job (killing it after ``timeout``); its stdout and stderr."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.out.read_text(), self.err.read_text()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


def job(run_id: str, url: str, data: Path) -> Job:
    """The job under ``run_id`` on the stand-in models (this test is about processes, not models)."""
    return Job(run_id, url, data)


def test_a_database_killed_mid_run_then_restarted_and_retried_publishes_each_sum_metric_once(
        scratch_server: ScratchServer, tmp_path: Path) -> None:
    url = scratch_server.url
    migrate(url)
    seed_sample_bars(url, SYMBOLS, ["1d"])
    run_id = "db-killed"
    first = job(run_id, url, tmp_path)
    try:
        wait_for(lambda: forecast_count(url, run_id) >= 1 or first.poll() is not None, JOB_TIMEOUT,
                 "the first forecast")
        assert first.poll() is None, "the job finished before the database could be killed"
        scratch_server.kill()
        out, err = first.communicate(timeout=JOB_TIMEOUT)
    finally:
        first.kill()
    assert first.returncode == 1, err[-3000:]
    # Tasks cut off by the kill were never recorded, so they are not published as failed either,
    # and the log does not claim to know the database's rows.
    assert "database rows are unaffected" not in err
    cut_off = [line for line in err.splitlines() if line.startswith("error: ")]
    assert cut_off and all(line.endswith("(not recorded: a retry of this run computes it)") for line in cut_off), \
        cut_off
    records = metric_records(err)
    assert per_symbol(records, FORECASTS_FAILED) == {s: (1, 0.0) for s in per_symbol(records, FORECASTS_FAILED)}

    scratch_server.start()  # crash recovery; the same URL
    retry = job(run_id, url, tmp_path)
    out2, err2 = retry.communicate(timeout=JOB_TIMEOUT)
    assert retry.returncode == 0, err2[-3000:]
    assert_complete_run(url, run_id, SYMBOLS)
    assert_each_sum_metric_once_and_true(url, run_id, records + metric_records(err2))


def test_two_processes_with_one_run_id_publish_each_sum_metric_once(db_url: str, tmp_path: Path) -> None:
    seed_sample_bars(db_url, SYMBOLS, ["1d"])
    run_id = "twins"
    procs = [job(run_id, db_url, tmp_path / f"data{i}") for i in range(2)]
    results = [p.communicate(timeout=JOB_TIMEOUT) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]  # both report the run's truth: every symbol forecast
    assert_complete_run(db_url, run_id, SYMBOLS)
    assert_each_sum_metric_once_and_true(db_url, run_id, [r for _, err in results for r in metric_records(err)])
    with psycopg.connect(db_url) as conn:  # each task finished by exactly one of the two, under its claim
        finished = conn.execute("SELECT COUNT(*) FROM forecast_tasks WHERE run_id = %(r)s AND state = 'written' "
                                "AND published_at IS NOT NULL", {"r": run_id}).fetchone()
    assert finished == (len(SYMBOLS),)
