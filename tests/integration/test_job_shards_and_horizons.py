"""Batch array children each take their shard; hourly horizons run on hourly bars."""

from __future__ import annotations

import psycopg

from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main

SYMBOLS = "AAPL,MSFT,SPY,NVDA"


def test_array_children_cover_every_symbol_once_under_one_run_id(db_url: str) -> None:
    seed_sample_bars(db_url, SYMBOLS.split(","), ["1d"])
    base = {"DATABASE_URL": db_url, "ROLLOUT_PHASE": "canary", "ROLLOUT_SYMBOLS": SYMBOLS,
            "CANARY_SYMBOLS": "AAPL,MSFT,SPY", "ROLLOUT_HORIZONS": "1D", "AWS_BATCH_JOB_ARRAY_SIZE": "3"}
    for index in range(3):
        env = {**base, "AWS_BATCH_JOB_ARRAY_INDEX": str(index), "AWS_BATCH_JOB_ID": f"job-123:{index}"}
        assert main(["--workers", "1"], env) == 0
    # A retried child (same index, same job id) adds nothing.
    assert main(["--workers", "1"], {**base, "AWS_BATCH_JOB_ARRAY_INDEX": "1", "AWS_BATCH_JOB_ID": "job-123:1"}) == 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT symbol, run_id FROM forecasts ORDER BY symbol").fetchall()
        meta = dict(conn.execute("SELECT symbol, rollout_phase FROM symbol_metadata").fetchall())
    assert sorted(r[0] for r in rows) == sorted(SYMBOLS.split(","))
    assert {r[1] for r in rows} == {"batch-job-123"}
    assert meta == {"AAPL": "canary", "MSFT": "canary", "SPY": "canary", "NVDA": "canary"}


def test_hourly_horizons_forecast_cumulative_returns_hours_ahead(db_url: str) -> None:
    argv = ["--symbols", "AAPL", "--horizon", "4h,8h", "--workers", "1"]
    assert main(argv, {"DATABASE_URL": db_url}) == 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT horizon, EXTRACT(EPOCH FROM target_ts - origin_ts) / 3600 FROM forecasts "
                            "ORDER BY horizon").fetchall()
        windows = conn.execute("SELECT horizon, COUNT(*) FROM ensemble_validation_metrics GROUP BY horizon "
                               "ORDER BY horizon").fetchall()
    assert [(h, float(hours)) for h, hours in rows] == [("4h", 4.0), ("8h", 8.0)]
    assert windows == [("4h", 4), ("8h", 4)]
