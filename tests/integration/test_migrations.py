"""The migrations produce the schema the job and the monitoring queries need."""

from __future__ import annotations

import psycopg

from jobs.storage.db import migrate, pending_migrations

ROLLOUT_DOC_COLUMNS = {
    "ensemble_validation_metrics": {
        "symbol", "horizon", "window_id", "divergence", "is_overfitting", "created_at", "val_rmse",
        "test_rmse", "model_count", "models_used", "naive_val_rmse", "naive_test_rmse", "rmse_ratio",
    },
    "forecasts": {"symbol", "horizon", "created_at", "model_count", "models_used", "weights", "run_id"},
    "symbol_metadata": {"symbol", "is_canary", "rollout_phase"},
    "ohlc_bars": {"symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"},
}


def test_migrations_apply_once_and_create_documented_columns(empty_db_url: str) -> None:
    applied = migrate(empty_db_url)
    assert "20260127_ensemble_validation_metrics" in applied
    assert migrate(empty_db_url) == []
    assert pending_migrations(empty_db_url) == []
    with psycopg.connect(empty_db_url) as conn:
        for table, wanted in ROLLOUT_DOC_COLUMNS.items():
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %(t)s", {"t": table}
            ).fetchall()
            have = {r[0] for r in rows}
            assert wanted <= have, f"{table} lacks {sorted(wanted - have)}"
