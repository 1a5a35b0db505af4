-- Resume: the symbol-horizons whose rows this run already committed (its forecast, or its
-- recorded failure). A retry of the run (same run id) skips them: neither recomputed nor republished.
SELECT symbol, horizon FROM forecasts WHERE run_id = %(run_id)s
UNION
SELECT symbol, horizon FROM forecast_failures WHERE run_id = %(run_id)s
ORDER BY symbol, horizon;
