-- Review: "RMSE vs baseline" per symbol-horizon, the figure of jobs.forecasting.results.paired_rmse_gap:
-- the ensemble's mean test RMSE over the windows with a legacy baseline row in the same run, symbol,
-- horizon and window, over the baseline's mean on those windows, minus one (NULL for a zero baseline).
-- Ratio of mean RMSEs rather than mean of ratios, so one near-zero baseline window cannot dominate.
SELECT
    e.symbol,
    e.horizon,
    COUNT(*) AS paired_windows,
    AVG(e.test_rmse) / NULLIF(AVG(b.test_rmse), 0) - 1 AS rmse_vs_baseline
FROM ensemble_validation_metrics e
JOIN ensemble_validation_metrics b
  ON b.run_id = e.run_id AND b.symbol = e.symbol AND b.horizon = e.horizon
 AND b.window_id = e.window_id AND b.is_baseline
WHERE e.rollout_phase = ANY(%(phases)s)
  AND NOT e.is_baseline
  AND e.created_at > %(since)s AND e.created_at <= %(until)s
GROUP BY e.symbol, e.horizon
ORDER BY e.symbol, e.horizon;
