-- Review: "RMSE vs baseline" per symbol-horizon, the figure of jobs.forecasting.results.paired_rmse_gap:
-- the ensemble's mean test RMSE over the windows paired with a legacy baseline row (the view
-- paired_baseline_windows), over the baseline's mean on those windows, minus one (NULL for a zero
-- baseline). Ratio of mean RMSEs rather than mean of ratios, so one near-zero baseline window cannot dominate.
SELECT
    symbol,
    horizon,
    COUNT(*) AS paired_windows,
    AVG(test_rmse) / NULLIF(AVG(baseline_test_rmse), 0) - 1 AS rmse_vs_baseline
FROM paired_baseline_windows
WHERE rollout_phase = ANY(%(phases)s)
  AND created_at > %(since)s AND created_at <= %(until)s
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
