-- Morning review 3: overfitting windows for the bound symbols over the bound window (24 hours), worst first.
SELECT symbol, horizon, divergence, model_count, models_used, created_at
FROM ensemble_validation_metrics
WHERE symbol = ANY(%(symbols)s)
  AND is_overfitting = TRUE
  AND NOT is_baseline
  AND created_at > NOW() - %(window)s::interval
ORDER BY divergence DESC, symbol, created_at DESC;
