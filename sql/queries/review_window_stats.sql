-- Review: the production ensemble's windows per symbol and horizon (paired baseline rows left out).
SELECT
    symbol,
    horizon,
    COUNT(*) AS windows,
    COUNT(DISTINCT run_id) AS runs,
    AVG(divergence) AS avg_divergence,
    MAX(divergence) AS max_divergence,
    SUM(CASE WHEN is_overfitting THEN 1 ELSE 0 END) AS overfitting_windows,
    SUM(model_errors) AS model_errors,
    -- Rows written before coverage was recorded (NULL) are left out of both.
    AVG(interval_coverage) AS avg_coverage,
    COUNT(interval_coverage) AS coverage_windows
FROM ensemble_validation_metrics
WHERE rollout_phase = ANY(%(phases)s)
  AND NOT is_baseline
  AND created_at > %(since)s AND created_at <= %(until)s
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
