"""Symbols without bars fail at once and say so: one line for all of them, every failure recorded."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from jobs.unified_forecast_job import main


def test_500_unknown_symbols_are_one_unknown_symbol_line_and_500_recorded_failures(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    symbols = [f"U{i}" for i in range(500)]
    argv = ["--symbols", ",".join(symbols), "--horizon", "1D", "--workers", "2", "--run-id", "typos",
            "--sample-data", "never"]  # an empty local database would otherwise be seeded for them
    started = time.perf_counter()
    assert main(argv, {"DATABASE_URL": db_url, "FORECAST_DATA_DIR": str(tmp_path)}) == 1
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if not line.startswith("{")]  # JSON lines: log and metrics
    assert errors == [f"error: 500 unknown symbol(s) at 1D, no 1d bars stored: {', '.join(symbols[:10])} and 490 "
                      "more; import their bars with `python -m jobs.load_bars FILE.csv --timeframe 1d`"], errors[:5]
    assert '"task done"' not in err  # no worker ran a task for them
    assert len(out.splitlines()) < 20, out[-2000:]  # the table lists no row per unknown symbol
    with psycopg.connect(db_url) as conn:
        failures = conn.execute("SELECT reason, COUNT(*) FROM forecast_failures WHERE run_id = 'typos' "
                                "GROUP BY reason").fetchall()
    assert failures == [("unknown symbol: no 1d bars stored", 500)]
    print(f"\n500 unknown symbols: {seconds:.1f}s, {len(errors)} error line(s), {len(out.splitlines())} stdout lines")
