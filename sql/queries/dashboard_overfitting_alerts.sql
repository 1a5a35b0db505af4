-- Overfitting alerts: the most divergent overfitting windows of the last %(days)s days.
SELECT symbol, horizon, window_id, test_start, divergence, val_rmse, test_rmse,
       divergence > %(critical)s AS is_critical, run_id, created_at
FROM ensemble_validation_metrics
WHERE is_overfitting AND NOT is_baseline
  AND created_at > NOW() - make_interval(days => %(days)s)
ORDER BY divergence DESC, created_at DESC
LIMIT %(limit)s;
