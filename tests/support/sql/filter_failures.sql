-- Filter tests: every recorded failure.
SELECT run_id, symbol, horizon FROM forecast_failures ORDER BY run_id, symbol, horizon;
