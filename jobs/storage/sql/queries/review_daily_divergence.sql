-- Review charts: average divergence per UTC day, symbol and horizon.
SELECT
    (created_at AT TIME ZONE 'UTC')::date AS day,
    symbol,
    horizon,
    COUNT(*) AS windows,
    AVG(divergence) AS avg_divergence
FROM ensemble_validation_metrics
WHERE rollout_phase = ANY(%(phases)s)
  AND NOT is_baseline
  AND created_at > %(since)s AND created_at <= %(until)s
GROUP BY 1, symbol, horizon
ORDER BY day, symbol, horizon;
