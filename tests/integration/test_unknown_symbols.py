"""Symbols without bars are data incidents at once: named once each, no worker, every one recorded through its claim."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from jobs.unified_forecast_job import main


def test_500_unknown_symbols_are_named_once_each_and_recorded_as_500_finished_tasks(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    symbols = [f"U{i}" for i in range(500)]
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D", "--workers", "2", "--run-id", "typos",
            "--sample-data", "never"]  # an empty local database would otherwise be seeded for them
    started = time.perf_counter()
    assert main(argv, {"DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path)}) == 0  # data incidents
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if not line.startswith("{")]  # JSON lines: log and metrics
    assert lines == [f"data incident: unknown symbol {s}: no bars stored, nothing fitted" for s in symbols], lines[:5]
    assert '"task done"' not in err  # no worker ran a task for them
    assert len(out.splitlines()) < 20, out[-2000:]  # the table lists no row per unknown symbol
    assert "500 unknown symbol(s), nothing fitted: U0, U1," in out
    with psycopg.connect(db_url) as conn:
        failures = conn.execute("SELECT failure_class, cause, COUNT(*) FROM forecast_failures WHERE run_id = 'typos' "
                                "GROUP BY failure_class, cause").fetchall()
        tasks = conn.execute("SELECT state, COUNT(*) FROM forecast_tasks WHERE run_id = 'typos' "
                             "AND published_at IS NOT NULL GROUP BY state").fetchall()
    assert failures == [("data", "unknown-symbol", 500)]
    assert tasks == [("failed", 500)]  # written through the claims, like any other failure

    assert main(argv, {"DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path)}) == 0  # a retry: nothing new
    retry = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("{")]
    assert retry == [f"data incident: unknown symbol {s}: no bars stored, nothing fitted (recorded by attempt 1 of this "
                     "run)" for s in symbols], retry[:3]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM forecast_failures WHERE run_id = 'typos'").fetchone() == (500,)
    print(f"\n500 unknown symbols: {seconds:.1f}s, {len(lines)} stderr lines, {len(out.splitlines())} stdout lines")
