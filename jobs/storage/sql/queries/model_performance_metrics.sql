-- Production monitoring: performance per model count and horizon over the bound window (7 days).
-- Baseline rows stay in, as their own group: this is the 2-model against legacy comparison.
SELECT
    model_count,
    is_baseline,
    horizon,
    COUNT(*) AS windows,
    ROUND(AVG(val_rmse)::numeric, 6) AS avg_val_rmse,
    ROUND(AVG(test_rmse)::numeric, 6) AS avg_test_rmse,
    ROUND(AVG(divergence)::numeric, 4) AS avg_divergence,
    ROUND(100.0 * SUM(CASE WHEN is_overfitting THEN 1 ELSE 0 END) / COUNT(*), 1) AS pct_overfitting
FROM ensemble_validation_metrics
WHERE created_at > NOW() - %(window)s::interval
GROUP BY model_count, is_baseline, horizon
ORDER BY horizon, model_count, is_baseline;
