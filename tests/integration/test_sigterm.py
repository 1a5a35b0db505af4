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

import pytest

from tests.integration.test_faults import seeded_url  # noqa: F401 (fixture)
from tests.integration.test_interrupt import assert_all_or_nothing_then_rerun, not_log_lines, stop_running_job


@pytest.mark.parametrize("moment, target", [("mid-run", "job"), ("workers starting", "group")])
def test_sigterm_prints_one_line_exits_143_leaves_no_worker_and_the_rerun_resumes(
        seeded_url: str, tmp_path: Path, moment: str, target: str) -> None:  # noqa: F811 (fixture)
    run_id = "terminated-run"

    def send(proc: subprocess.Popen[bytes]) -> None:
        if target == "job":  # what tini forwards: the job alone
            proc.send_signal(signal.SIGTERM)
        else:  # a kill of the whole process group reaches the workers too
            os.killpg(proc.pid, signal.SIGTERM)

    status, text = stop_running_job(seeded_url, tmp_path, run_id, moment, send)
    assert status == 143
    assert "Traceback" not in text and "leaked semaphore" not in text, text[-3000:]
    lines = not_log_lines(text)
    assert len(lines) == 1, lines
    assert lines[0].startswith("terminated by SIGTERM: ") and f"--run-id {run_id} to resume" in lines[0], lines[0]
    assert_all_or_nothing_then_rerun(seeded_url, tmp_path, run_id, moment)
