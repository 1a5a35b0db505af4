-- Production monitoring: validation against test RMSE per symbol and horizon over the bound window (7 days).
SELECT
    symbol,
    horizon,
    ROUND(AVG(val_rmse)::numeric, 6) AS avg_val_rmse,
    ROUND(AVG(test_rmse)::numeric, 6) AS avg_test_rmse,
    ROUND(AVG(test_rmse - val_rmse)::numeric, 6) AS rmse_gap,
    COUNT(*) AS windows
FROM ensemble_validation_metrics
WHERE created_at > NOW() - %(window)s::interval
  AND NOT is_baseline
GROUP BY symbol, horizon
ORDER BY rmse_gap DESC, symbol, horizon;
