-- Morning review 1: divergence summary for the bound symbols over the bound window (24 hours).
SELECT
    symbol,
    horizon,
    COUNT(*) AS windows,
    AVG(divergence) AS avg_div,
    MAX(divergence) AS max_div,
    SUM(CASE WHEN is_overfitting THEN 1 ELSE 0 END) AS overfitting_count
FROM ensemble_validation_metrics
WHERE symbol = ANY(%(symbols)s)
  AND NOT is_baseline
  AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon
ORDER BY symbol, horizon;
