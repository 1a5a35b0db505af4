"""Batch array children each take their shard; hourly horizons run on hourly bars.

Both run the job with the stand-in model set of ``tests.support.models``: shards and trading
hours are the subject, not the models.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from jobs.contract.config import JobConfig
from jobs.storage.sample_data import seed_sample_bars
from jobs.unified_forecast_job import main
from tests.support.fixtures import ANY_AGE
from tests.support.models import stand_in_env

SYMBOLS = "AAPL,MSFT,SPY,NVDA"


def test_array_children_cover_every_symbol_once_under_one_run_id(db_url: str) -> None:
    seed_sample_bars(db_url, SYMBOLS.split(","), ["1d"])
    base = {**ANY_AGE, **stand_in_env(), "DATABASE_URL": db_url, "ROLLOUT_PHASE": "canary", "ROLLOUT_SYMBOLS": SYMBOLS,
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


def test_hourly_horizons_forecast_cumulative_returns_trading_hours_ahead(db_url: str) -> None:
    argv = ["--symbols", "AAPL", "--horizon", "4h,8h", "--workers", "1"]
    assert main(argv, {**stand_in_env(), "DATABASE_URL": db_url}) == 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT horizon, origin_ts, target_ts FROM forecasts ORDER BY horizon").fetchall()
        windows = conn.execute("SELECT horizon, COUNT(*) FROM ensemble_validation_metrics GROUP BY horizon "
                               "ORDER BY horizon").fetchall()
    # The sample's last hourly bar is Friday 2026-11-20's close (16:00 New York): 4 and 8 trading
    # hours later are on Monday and Tuesday, not Friday evening (XNYS, the default calendar).
    ny = ZoneInfo("America/New_York")
    assert [(h, o.astimezone(ny), t.astimezone(ny)) for h, o, t in rows] == [
        ("4h", datetime(2026, 11, 20, 16, 0, tzinfo=ny), datetime(2026, 11, 23, 13, 30, tzinfo=ny)),
        ("8h", datetime(2026, 11, 20, 16, 0, tzinfo=ny), datetime(2026, 11, 24, 10, 30, tzinfo=ny)),
    ]
    assert windows == [("4h", JobConfig().walk_forward_windows), ("8h", JobConfig().walk_forward_windows)]
