-- Production monitoring: performance per model count and horizon over the bound window (7 days).
-- Baseline rows stay in, as their own group: this is the 2-model against legacy comparison.
-- rmse_vs_baseline is jobs.forecasting.results.paired_rmse_gap over the group: its mean test RMSE
-- over its windows paired with a baseline row (the view paired_baseline_windows), over that
-- baseline's mean, minus one (NULL for the baseline groups and where nothing is paired).
SELECT
    e.model_count,
    e.is_baseline,
    e.horizon,
    COUNT(*) AS windows,
    ROUND(AVG(e.val_rmse)::numeric, 6) AS avg_val_rmse,
    ROUND(AVG(e.test_rmse)::numeric, 6) AS avg_test_rmse,
    ROUND(AVG(e.divergence)::numeric, 4) AS avg_divergence,
    ROUND(100.0 * SUM(CASE WHEN e.is_overfitting THEN 1 ELSE 0 END) / COUNT(*), 1) AS pct_overfitting,
    AVG(e.test_rmse) FILTER (WHERE p.id IS NOT NULL) / NULLIF(AVG(p.baseline_test_rmse), 0) - 1 AS rmse_vs_baseline
FROM ensemble_validation_metrics e
LEFT JOIN paired_baseline_windows p ON p.id = e.id
WHERE e.created_at > NOW() - %(window)s::interval
GROUP BY e.model_count, e.is_baseline, e.horizon
ORDER BY e.horizon, e.model_count, e.is_baseline;
