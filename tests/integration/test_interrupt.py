"""Ctrl-C: the job prints one line, exits 130, leaves no worker behind, and a re-run completes.

The job runs for real as a subprocess in its own session (process group), and SIGINT goes to
the whole group the way a terminal sends it on Ctrl-C: to the job and to each of its workers.
"""

from __future__ import annotations

import json
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


def not_log_lines(text: str) -> list[str]:
    """stderr lines that are not the job's JSON log records (non-terminal stderr logs JSON)."""
    lines = []
    for line in text.splitlines():
        try:
            json.loads(line)
        except ValueError:
            lines.append(line)
    return lines


@pytest.mark.parametrize("moment", ["workers starting", "mid-run"])
def test_ctrl_c_prints_one_line_exits_130_leaves_no_worker_and_the_rerun_completes(
        seeded_url: str, tmp_path: Path, moment: str) -> None:  # noqa: F811 (fixture)
    run_id = "interrupted-run"
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
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        assert proc.wait(timeout=60) == 130
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == [], f"workers outlived the interrupted job: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err_path.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert not_log_lines(text) == ["interrupted"], not_log_lines(text)

    # All or nothing per symbol-horizon: every forecast written has all its windows, and no
    # symbol has windows without its forecast.
    with psycopg.connect(seeded_url) as conn:
        forecasts = {r[0] for r in conn.execute("SELECT symbol FROM forecasts WHERE run_id = %(r)s", {"r": run_id})}
        windows = dict(conn.execute("SELECT symbol, COUNT(*) FROM ensemble_validation_metrics WHERE run_id = %(r)s "
                                    "GROUP BY symbol", {"r": run_id}).fetchall())
    assert len(forecasts) < len(SYMBOLS) and (moment != "mid-run" or forecasts)
    assert windows == {s: WINDOWS for s in forecasts}

    rerun(run_id, env)
    assert_complete_run(seeded_url, run_id, SYMBOLS)
