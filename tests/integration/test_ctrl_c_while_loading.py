"""Ctrl-C while a command's modules are still loading: one line, exit 130, no traceback.

Each command runs as ``python -m jobs.<command>``, the way an operator starts it, with Python's
import-time report on stderr: SIGINT is sent as soon as the report shows the database driver
loaded, so it lands while the command's other modules (pydantic, pandas, torch ...) load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "unified_forecast_job": ["--symbols", "AAPL", "--horizon", "1D"],
    "load_bars": ["bars.csv", "--symbol", "AAPL"],
    "migrate": [],
    "daily_checks": [],
    "rollout_review": ["--phase", "canary"],
    "dashboard": [],
    "promotion_gate": ["--stack", "limited"],
    "rollback": ["--stack", "canary"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_ctrl_c_during_imports_is_one_line_and_exit_130(command: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPROFILEIMPORTTIME": "1",
           "DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "FORECAST_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", f"jobs.{command}", *COMMANDS[command]], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    report: list[str] = []
    for line in proc.stderr:  # import-time lines arrive as each module finishes loading
        report.append(line)
        if line.split("|")[-1].strip() == "psycopg":
            proc.send_signal(signal.SIGINT)
            break
    else:
        pytest.fail(f"psycopg never loaded: {''.join(report)[-2000:]}")
    report.append(proc.stderr.read())  # to the end: the process has exited once stderr closes
    proc.wait(timeout=60)
    assert proc.stdout is not None
    lines = [line for line in "".join(report).splitlines() if not line.startswith("import time:")]
    assert proc.returncode == 130, lines
    assert lines == ["interrupted"]
    assert proc.stdout.read() == ""
