-- Production monitoring: divergence per day, symbol and horizon over the bound window (the document uses 1 day).
-- Baseline rows are the legacy ensemble's paired windows, not the production ensemble: left out.
SELECT
    created_at::date AS date,
    symbol,
    horizon,
    COUNT(*) AS windows,
    ROUND(AVG(divergence)::numeric, 4) AS avg_divergence,
    ROUND(MAX(divergence)::numeric, 4) AS max_divergence,
    SUM(CASE WHEN is_overfitting THEN 1 ELSE 0 END) AS overfitting_count,
    ROUND(100.0 * SUM(CASE WHEN is_overfitting THEN 1 ELSE 0 END) / COUNT(*), 1) AS pct_overfitting
FROM ensemble_validation_metrics
WHERE created_at > NOW() - %(window)s::interval
  AND NOT is_baseline
GROUP BY created_at::date, symbol, horizon
ORDER BY avg_divergence DESC, symbol, horizon;
