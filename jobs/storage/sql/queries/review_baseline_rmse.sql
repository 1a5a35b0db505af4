-- Review: the ensemble's test RMSE against the paired legacy baseline (same run, symbol, horizon, window).
-- Ratio of mean RMSEs rather than mean of ratios, so one near-zero baseline window cannot dominate.
SELECT
    e.symbol,
    e.horizon,
    COUNT(*) AS paired_windows,
    AVG(e.test_rmse) AS ensemble_test_rmse,
    AVG(b.test_rmse) AS baseline_test_rmse
FROM ensemble_validation_metrics e
JOIN ensemble_validation_metrics b
  ON b.run_id = e.run_id AND b.symbol = e.symbol AND b.horizon = e.horizon
 AND b.window_id = e.window_id AND b.is_baseline
WHERE e.rollout_phase = ANY(%(phases)s)
  AND NOT e.is_baseline
  AND e.created_at > %(since)s AND e.created_at <= %(until)s
GROUP BY e.symbol, e.horizon
ORDER BY e.symbol, e.horizon;
