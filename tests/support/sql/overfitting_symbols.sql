-- Production monitoring: symbols and horizons with overfitting windows over the bound window (7 days).
SELECT
    symbol,
    horizon,
    COUNT(*) AS overfitting_events,
    ROUND(AVG(divergence)::numeric, 4) AS avg_divergence,
    ROUND(MAX(divergence)::numeric, 4) AS max_divergence,
    MAX(created_at) AS latest_event
FROM ensemble_validation_metrics
WHERE is_overfitting = TRUE
  AND NOT is_baseline
  AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon
ORDER BY avg_divergence DESC, symbol, horizon;
