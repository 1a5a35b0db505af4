-- Resume: the symbol-horizons this run already finished: rows committed (its forecast, or its
-- recorded failure) and metrics published. A retry of the run (same run id) skips them: neither
-- recomputed nor republished. Rows committed but not yet published (a kill in between) are run
-- again: the rewrite changes no row, and their metrics are then published once.
SELECT symbol, horizon FROM forecasts WHERE run_id = %(run_id)s AND metrics_published_at IS NOT NULL
UNION
SELECT symbol, horizon FROM forecast_failures WHERE run_id = %(run_id)s AND metrics_published_at IS NOT NULL
ORDER BY symbol, horizon;
