-- Filter tests: the symbol-horizons of every run whose metrics are stamped as published, by table.
SELECT 'forecast' AS source, run_id, symbol, horizon FROM forecasts WHERE metrics_published_at IS NOT NULL
UNION ALL
SELECT 'failure', run_id, symbol, horizon FROM forecast_failures WHERE metrics_published_at IS NOT NULL
ORDER BY 1, 2, 3, 4;
