"""Ctrl-C: the job prints one line, exits 130, leaves no worker behind, and a re-run completes.

The job runs for real as a subprocess in its own session (process group), and SIGINT goes to
the whole group the way a terminal sends it on Ctrl-C: to the job and to each of its workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.integration.test_faults import (
    ROOT,
    SYMBOLS,
    WINDOWS,
    assert_complete_run,
    await_first_forecast,
    job_command,
    job_env,
    pool_workers,
    rerun,
    seeded_url,  # noqa: F401 (fixture)
    wait_for,
)


def not_log_lines(text: str) -> list[str]:
    """stderr lines that are not the job's JSON log records (non-terminal stderr logs JSON)."""
    lines = []
    for line in text.splitlines():
        try:
            json.loads(line)
        except ValueError:
            lines.append(line)
    return lines


def stop_running_job(url: str, tmp_path: Path, run_id: str, moment: str,
                     send: Callable[[subprocess.Popen[bytes]], None]) -> tuple[int, str]:
    """Start the job in its own session, ``send`` it a signal at ``moment``, and return its exit status
    and stderr. Fails if a worker outlives it."""
    err_path = tmp_path / "stderr.log"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(job_command(run_id), env=job_env(url, tmp_path), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    try:
        if moment == "mid-run":
            await_first_forecast(proc, url, run_id)
        else:  # both workers spawned and still importing their modules: nothing forecast yet
            wait_for(lambda: len(pool_workers(proc.pid)) == 2 or proc.poll() is not None, 120, "two workers")
        workers = pool_workers(proc.pid)
        assert len(workers) == 2
        send(proc)
        status = proc.wait(timeout=60)
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == [], f"workers outlived the stopped job: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return status, err_path.read_text()


def assert_all_or_nothing_then_rerun(url: str, tmp_path: Path, run_id: str, moment: str) -> None:
    """Every forecast written has all its windows and no symbol has windows without its forecast;
    then the same command (the same run id) completes the run without duplicates."""
    with psycopg.connect(url) as conn:
        forecasts = {r[0] for r in conn.execute("SELECT symbol FROM forecasts WHERE run_id = %(r)s", {"r": run_id})}
        windows = dict(conn.execute("SELECT symbol, COUNT(*) FROM ensemble_validation_metrics WHERE run_id = %(r)s "
                                    "GROUP BY symbol", {"r": run_id}).fetchall())
    assert len(forecasts) < len(SYMBOLS) and (moment != "mid-run" or forecasts)
    assert windows == {s: WINDOWS for s in forecasts}
    rerun(run_id, job_env(url, tmp_path))
    assert_complete_run(url, run_id, SYMBOLS)


@pytest.mark.parametrize("moment", ["workers starting", "mid-run"])
def test_ctrl_c_prints_one_line_exits_130_leaves_no_worker_and_the_rerun_completes(
        seeded_url: str, tmp_path: Path, moment: str) -> None:  # noqa: F811 (fixture)
    run_id = "interrupted-run"
    # What a terminal does on Ctrl-C: SIGINT to the whole process group.
    status, text = stop_running_job(seeded_url, tmp_path, run_id, moment,
                                    lambda proc: os.killpg(proc.pid, signal.SIGINT))
    assert status == 130
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert not_log_lines(text) == ["interrupted"], not_log_lines(text)
    assert_all_or_nothing_then_rerun(seeded_url, tmp_path, run_id, moment)
