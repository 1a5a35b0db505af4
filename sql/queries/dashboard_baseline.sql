-- Ensemble vs the paired legacy baseline, last %(days)s days: "RMSE vs baseline" as
-- jobs.forecasting.results.paired_rmse_gap defines it (mean test RMSE over the windows both
-- evaluated in the same run, symbol, horizon and window id, over the baseline's, minus one).
SELECT e.symbol, e.horizon,
       MAX(e.model_set)      AS model_set,
       MAX(b.model_set)      AS baseline_model_set,
       COUNT(*)              AS paired_windows,
       AVG(e.test_rmse)      AS avg_test_rmse,
       AVG(b.test_rmse)      AS avg_baseline_test_rmse,
       AVG(e.test_rmse) / NULLIF(AVG(b.test_rmse), 0) - 1 AS rmse_vs_baseline
FROM ensemble_validation_metrics AS e
JOIN ensemble_validation_metrics AS b
  ON b.run_id = e.run_id AND b.symbol = e.symbol AND b.horizon = e.horizon
 AND b.window_id = e.window_id AND b.is_baseline
WHERE NOT e.is_baseline
  AND e.created_at > NOW() - make_interval(days => %(days)s)
GROUP BY e.symbol, e.horizon
ORDER BY e.symbol, e.horizon;
