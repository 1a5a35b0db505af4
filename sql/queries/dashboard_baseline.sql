-- Ensemble vs the paired legacy baseline, last %(days)s days: "RMSE vs baseline" as
-- jobs.forecasting.results.paired_rmse_gap defines it (mean test RMSE over the windows both
-- evaluated, the view paired_baseline_windows, over the baseline's, minus one).
SELECT symbol, horizon,
       MAX(model_set)          AS model_set,
       MAX(baseline_model_set) AS baseline_model_set,
       COUNT(*)                AS paired_windows,
       AVG(test_rmse)          AS avg_test_rmse,
       AVG(baseline_test_rmse) AS avg_baseline_test_rmse,
       AVG(test_rmse) / NULLIF(AVG(baseline_test_rmse), 0) - 1 AS rmse_vs_baseline
FROM paired_baseline_windows
WHERE created_at > NOW() - make_interval(days => %(days)s)
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
