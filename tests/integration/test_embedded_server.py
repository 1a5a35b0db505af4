"""The embedded default server (pgserver): a killed run's pid does not keep it from being stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

from jobs.storage.db import embedded_url

ROOT = Path(__file__).resolve().parents[2]


def postmaster(pgdata: Path) -> psutil.Process | None:
    """The server process of ``pgdata`` while it runs (first line of postmaster.pid)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        return psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return None


def test_a_killed_runs_pid_is_dropped_so_the_last_handle_stops_the_server(server_folder: Path, tmp_path: Path) -> None:
    data = server_folder / "data"
    # A run that starts the embedded server and is then killed: its pid stays in the handle list.
    started = subprocess.run(
        [sys.executable, "-c", "import os, signal; from pathlib import Path; from jobs.storage.db import embedded_url; "
                               f"embedded_url(Path({str(data)!r})); os.kill(os.getpid(), signal.SIGKILL)"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert started.returncode == -9, started.stderr
    pgdata = data / "pgdata"
    server = postmaster(pgdata)
    assert server is not None and server.is_running()
    handles = pgdata / ".handle_pids.json"
    [dead] = json.loads(handles.read_text())
    assert not psutil.pid_exists(dead)
    try:
        # This process is now the only handle: its cleanup stops the server and deletes the folder.
        embedded_url(data, cleanup_mode="delete")
        assert json.loads(handles.read_text()) == [os.getpid()]
        import pgserver

        pgserver.get_server(str(pgdata.resolve()), cleanup_mode="delete").cleanup()
        server.wait(timeout=30)
        assert not server.is_running()
        assert not pgdata.exists()
    finally:
        if server.is_running():
            server.kill()
