"""SIGTERM (AWS Batch's stop signal): one line, exit 143, no worker left, nothing partial, a re-run resumes.

Batch stops a job on a timeout or a terminate with SIGTERM, then SIGKILL 30 s later. In the
image the job runs under tini, which forwards the signal to the job process alone; a
``kill`` of the whole process group reaches the workers too. The job runs for real as a
subprocess, as in the Ctrl-C test (``test_interrupt.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
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
from tests.integration.test_interrupt import not_log_lines


def stop(proc: subprocess.Popen[bytes], target: str) -> None:
    """SIGTERM to the job alone (what tini forwards) or to its whole process group."""
    if target == "job":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM)


@pytest.mark.parametrize("moment, target", [("mid-run", "job"), ("workers starting", "group")])
def test_sigterm_prints_one_line_exits_143_leaves_no_worker_and_the_rerun_resumes(
        seeded_url: str, tmp_path: Path, moment: str, target: str) -> None:  # noqa: F811 (fixture)
    run_id = "terminated-run"
    env = job_env(seeded_url, tmp_path)
    err_path = tmp_path / "stderr.log"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(job_command(run_id), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    try:
        if moment == "mid-run":
            await_first_forecast(proc, seeded_url, run_id)
        else:  # both workers spawned and still importing their modules: nothing forecast yet
            wait_for(lambda: len(pool_workers(proc.pid)) == 2 or proc.poll() is not None, 120, "two workers")
        workers = pool_workers(proc.pid)
        assert len(workers) == 2
        stop(proc, target)
        assert proc.wait(timeout=60) == 143
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == [], f"workers outlived the terminated job: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err_path.read_text()
    assert "Traceback" not in text and "leaked semaphore" not in text, text[-3000:]
    lines = not_log_lines(text)
    assert len(lines) == 1, lines
    assert lines[0].startswith("terminated by SIGTERM: ") and f"--run-id {run_id}" in lines[0], lines[0]

    # Nothing partial: every forecast written has all its windows, and no symbol has windows
    # without its forecast.
    with psycopg.connect(seeded_url) as conn:
        forecasts = {r[0] for r in conn.execute("SELECT symbol FROM forecasts WHERE run_id = %(r)s", {"r": run_id})}
        windows = dict(conn.execute("SELECT symbol, COUNT(*) FROM ensemble_validation_metrics WHERE run_id = %(r)s "
                                    "GROUP BY symbol", {"r": run_id}).fetchall())
    assert len(forecasts) < len(SYMBOLS) and (moment != "mid-run" or forecasts)
    assert windows == {s: WINDOWS for s in forecasts}

    rerun(run_id, env)  # the same command, the same run id: it resumes
    assert_complete_run(seeded_url, run_id, SYMBOLS)
