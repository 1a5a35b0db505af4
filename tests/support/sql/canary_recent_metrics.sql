-- Canary check: the newest validation windows logged for the bound symbols (the document shows 10).
SELECT symbol, horizon, window_id, divergence, is_overfitting, created_at
FROM ensemble_validation_metrics
WHERE symbol = ANY(%(symbols)s)
  AND NOT is_baseline
ORDER BY created_at DESC, symbol, window_id DESC
LIMIT %(limit)s;
