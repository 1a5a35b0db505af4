"""A retried run resumes: what an earlier attempt wrote is neither recomputed nor republished.

Real PostgreSQL, the real job (with the stand-in model set of ``tests.support.models``: resuming is
not about the models), and moto's CloudWatch: as a server for the job run as
a subprocess (killed with SIGKILL midway), in-process (``fake_aws``) for the retry after a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import psycopg
import pytest

from jobs.contract.domain import Model
from jobs.contract.metrics import (
    CRITICAL_ALERTS,
    DATA_EVENTS,
    DATA_INCIDENTS,
    DIM_HORIZON,
    DIM_STACK,
    DIM_SYMBOL,
    FORECASTS_EXPECTED,
    FORECASTS_FAILED,
    FORECASTS_WRITTEN,
    METRICS,
    MODEL_ERRORS,
    NAMESPACE,
    PER_SYMBOL,
    PIPELINE_FAILURES,
    QUARANTINED_TASKS,
)
from jobs.forecasting.models import register_model
from jobs.forecasting.walkforward import DEFAULT_SPECS
from jobs.storage.bars import upsert_bars
from jobs.storage.db import connect
from jobs.storage.sample_data import seed_sample_bars, simulated_bars
from jobs.unified_forecast_job import main
from tests.support.models import stand_in_env

ROOT = Path(__file__).resolve().parents[2]
# Eight: the kill waits for two committed tasks, and six more (about 3 s on one worker) leave a
# poll that lags on a loaded machine time to land mid-run (with five the job could finish first).
SYMBOLS = ("AAPL", "NVDA", "GOOGL", "AMZN", "META", "TSLA", "NFLX", "ORCL")
SUM_METRICS = (FORECASTS_WRITTEN, FORECASTS_FAILED, MODEL_ERRORS, CRITICAL_ALERTS, DATA_INCIDENTS, QUARANTINED_TASKS,
               PIPELINE_FAILURES, DATA_EVENTS)
WINDOWS = DEFAULT_SPECS["1d"].windows
JOB_TIMEOUT = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto's CloudWatch as a local server, so a job subprocess can publish to it; yields the AWS env."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield env
    finally:
        server.stop()


def datapoints(client: Any, metric: str, dims: dict[str, str]) -> tuple[int, float]:
    """``(datapoints, sum)`` of ``metric`` under exactly ``dims``, over the last hour."""
    now = datetime.now(timezone.utc)
    stats = client.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=7200,
        Statistics=["SampleCount", "Sum"])["Datapoints"]
    return int(sum(p["SampleCount"] for p in stats)), float(sum(p["Sum"] for p in stats))


def per_task(client: Any, metric: str, symbols: tuple[str, ...]) -> tuple[int, float]:
    """``(datapoints, sum)`` of ``metric`` at its finest dimension set, over ``symbols`` at 1D.

    Queried at the finest set only: moto (unlike CloudWatch) also counts datapoints whose
    dimensions merely include the queried ones, so a coarser query would count every set.
    """
    if PER_SYMBOL in METRICS[metric].dimension_sets:
        points = [datapoints(client, metric, {DIM_STACK: "local", DIM_SYMBOL: s, DIM_HORIZON: "1D"}) for s in symbols]
        return sum(c for c, _ in points), sum(v for _, v in points)
    return datapoints(client, metric, {DIM_STACK: "local", DIM_HORIZON: "1D"})


def rows(url: str, query: str, run_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, {"r": run_id}).fetchall()


def forecasts_of(url: str, run_id: str) -> list[str]:
    return [r[0] for r in rows(url, "SELECT symbol FROM forecasts WHERE run_id = %(r)s ORDER BY symbol", run_id)]


def stamped_of(url: str, run_id: str) -> list[str]:
    """Symbols whose task is finished: its rows and publish stamp committed together."""
    return [r[0] for r in rows(url, "SELECT symbol FROM forecast_tasks WHERE run_id = %(r)s "
                                    "AND published_at IS NOT NULL ORDER BY symbol", run_id)]


def test_a_killed_run_resumes_and_each_symbol_horizon_is_published_once(
        db_url: str, moto_server: dict[str, str], tmp_path: Path) -> None:
    seed_sample_bars(db_url, SYMBOLS, ["1d"])
    env = {**os.environ, **moto_server, **stand_in_env(), "DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT), "AWS_BATCH_JOB_ID": "resume-1"}
    command = [sys.executable, "-m", "jobs.unified_forecast_job", "--symbols", ",".join(SYMBOLS),
               "--horizon", "1D", "--workers", "1"]
    run_id = "batch-resume-1"
    started = time.perf_counter()
    with (tmp_path / "first.log").open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            # Kill while the third task computes: two committed and their metrics out, so the kill
            # lands outside the one window this design leaves open (between a task's commit and its
            # PutMetricData, a kill leaves that task's metrics unpublished; see docs/job.md).
            client = boto3.client("cloudwatch")
            while not (len(forecasts_of(db_url, run_id)) >= 2
                       and per_task(client, FORECASTS_WRITTEN, SYMBOLS)[0] == len(forecasts_of(db_url, run_id))):
                assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
                assert time.perf_counter() - started < JOB_TIMEOUT, "the first attempt wrote nothing in time"
                time.sleep(0.2)
            proc.send_signal(signal.SIGKILL)  # mid-run: after two symbol-horizons finished
        finally:
            proc.kill()
            proc.wait()
    first_seconds = time.perf_counter() - started
    committed = forecasts_of(db_url, run_id)
    assert 2 <= len(committed) < len(SYMBOLS), "the kill did not land mid-run"
    # Finished: rows and publish stamp committed together, then the metrics published.
    written_first = stamped_of(db_url, run_id)
    assert written_first == committed

    started = time.perf_counter()
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=JOB_TIMEOUT)
    second_seconds = time.perf_counter() - started
    assert again.returncode == 0, again.stderr[-3000:]
    note = next(line for line in again.stdout.splitlines() if line.startswith("resumed run"))
    assert note.startswith(f"resumed run {run_id}: {len(written_first)} of {len(SYMBOLS)} symbol-horizons "
                           "were already written and published under this run id and were skipped")
    # Neither recomputed: the retry ran exactly the tasks the first attempt had not finished.
    recomputed = sorted(json.loads(line)["symbol"] for line in again.stderr.splitlines()
                        if line.startswith("{") and json.loads(line).get("msg") == "task done")
    assert recomputed == sorted(set(SYMBOLS) - set(written_first))
    print(f"\nfirst attempt killed after {first_seconds:.1f}s with {len(committed)} committed, "
          f"{len(written_first)} also published; "
          f"retry {second_seconds:.1f}s. {note}")

    # Rows: one forecast and one set of windows per symbol-horizon, none failed.
    assert forecasts_of(db_url, run_id) == sorted(SYMBOLS)
    evm = rows(db_url, "SELECT symbol, COUNT(*) FROM ensemble_validation_metrics WHERE run_id = %(r)s "
                       "AND NOT is_baseline GROUP BY symbol ORDER BY symbol", run_id)
    assert evm == [(s, WINDOWS) for s in sorted(SYMBOLS)]
    assert rows(db_url, "SELECT symbol FROM forecast_failures WHERE run_id = %(r)s", run_id) == []
    # Metrics, summed over both attempts: one datapoint per symbol-horizon for every Sum metric.
    client = boto3.client("cloudwatch")
    for metric in SUM_METRICS:
        count, _ = per_task(client, metric, SYMBOLS)
        assert count == len(SYMBOLS), f"{metric}: {count} datapoints for {len(SYMBOLS)} symbol-horizons"
    for symbol in SYMBOLS:
        assert per_task(client, FORECASTS_WRITTEN, (symbol,)) == (1, 1.0), symbol
    # The run's first attempt announced every task once; the retry announced nothing more.
    assert per_task(client, FORECASTS_EXPECTED, SYMBOLS) == (len(SYMBOLS), float(len(SYMBOLS)))


def test_a_retry_after_a_data_incident_republishes_nothing_and_reports_it_again(
        db_url: str, fake_aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The run finished and published, with one symbol refused as a data incident; Batch retries the same
    # job id. Earlier code recomputed every task and published every Sum metric twice (issue 22); a
    # data incident is recorded and reported, so both attempts exit 0 (issue 20).
    seed_sample_bars(db_url, ["AAPL", "NVDA"], ["1d"])
    broken = simulated_bars("BROKE", "1d")
    broken.loc[len(broken) - 3, "close"] = np.nan
    with connect(db_url) as conn, conn.transaction():
        upsert_bars(conn, "BROKE", "1d", broken, "test: a NaN close")
    env = {**stand_in_env(), "DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path), "AWS_BATCH_JOB_ID": "resume-2"}
    argv = ["--symbols", "AAPL,BROKE,NVDA", "--horizon", "1D", "--workers", "1"]
    client = boto3.client("cloudwatch")

    def published() -> dict[str, tuple[int, float]]:
        return {m: per_task(client, m, ("AAPL", "BROKE", "NVDA")) for m in (*SUM_METRICS, FORECASTS_EXPECTED)}

    assert main(argv, env) == 0  # the bad symbol is a data incident: recorded, reported, exit 0
    first = published()
    assert first[FORECASTS_WRITTEN] == (3, 2.0) and first[FORECASTS_FAILED] == (3, 1.0)
    assert first[CRITICAL_ALERTS] == (3, 0.0) and first[FORECASTS_EXPECTED] == (3, 3.0)  # not a critical alert
    assert first[DATA_INCIDENTS] == (3, 1.0) and first[PIPELINE_FAILURES] == (3, 0.0)
    with psycopg.connect(db_url) as conn:
        created = conn.execute("SELECT symbol, created_at FROM forecasts ORDER BY symbol").fetchall()
    capsys.readouterr()
    # It computes nothing, and reports the run's truth: the incident, recorded by attempt 1.
    assert main(argv, {**env, "AWS_BATCH_JOB_ATTEMPT": "2"}) == 0
    out, err = capsys.readouterr()
    assert (out + err).count("resumed run") == 1  # the resume note, printed once (it was also logged)
    lines = [line for line in err.splitlines() if line.startswith(("error: ", "data incident: "))]
    assert len(lines) == 1 and lines[0].startswith("data incident: BROKE 1D: refused, recorded by attempt 1 of this "
                                                   "run: 1d bars: missing or non-finite price"), lines
    assert published() == first
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT symbol, created_at FROM forecasts ORDER BY symbol").fetchall() == created
        assert conn.execute("SELECT COUNT(*) FROM ensemble_validation_metrics").fetchone()[0] == 2 * WINDOWS


def test_a_retry_after_a_pipeline_failure_exits_1_naming_the_attempt_and_republishes_nothing(
        db_url: str, fake_aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The issue-22 case: the run failed in code (exit 1); a retry with the same job id computed nothing
    # and exited 0, so the retried Batch job ended SUCCEEDED. The run's truth is still the failure.
    seed_sample_bars(db_url, ["AAPL"], ["1d"])
    env = {**stand_in_env(), "DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path), "AWS_BATCH_JOB_ID": "resume-3"}
    argv = ["--symbols", "AAPL", "--horizon", "1D", "--workers", "1"]  # one worker: tasks run in this process
    client = boto3.client("cloudwatch")
    previous = register_model(Model.GB, "bench.broken_model", "OffByOneModel")  # GB's code has a bug
    try:
        assert main(argv, env) == 1
    finally:
        register_model(Model.GB, *previous)
    first = {m: per_task(client, m, ("AAPL",)) for m in SUM_METRICS}
    assert first[PIPELINE_FAILURES] == (1, 1.0) and first[FORECASTS_FAILED] == (1, 1.0)
    assert first[DATA_INCIDENTS] == (1, 0.0) and first[CRITICAL_ALERTS] == (1, 1.0)
    capsys.readouterr()
    assert main(argv, {**env, "AWS_BATCH_JOB_ATTEMPT": "2"}) == 1  # computes nothing (GB is fixed), still failed
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: AAPL 1D: failed, recorded by attempt 1 of this run: "), errors
    assert errors[0].endswith("a retry does not recompute a recorded failure: run again with a new --run-id")
    assert {m: per_task(client, m, ("AAPL",)) for m in SUM_METRICS} == first
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT failure_class FROM forecast_failures").fetchall() == [("pipeline",)]
