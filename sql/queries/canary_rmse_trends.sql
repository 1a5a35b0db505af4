-- Morning review 2: RMSE trends for the bound symbols over the bound window (24 hours).
SELECT
    symbol,
    horizon,
    AVG(val_rmse) AS avg_val,
    AVG(test_rmse) AS avg_test,
    AVG(test_rmse - val_rmse) AS rmse_diff
FROM ensemble_validation_metrics
WHERE symbol = ANY(%(symbols)s)
  AND NOT is_baseline
  AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
