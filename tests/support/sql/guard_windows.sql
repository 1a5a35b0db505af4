-- Test reads: the production ensemble's window rows of the bound run, per symbol and window.
SELECT symbol, window_id, val_rmse, divergence, is_overfitting, weights_reverted, weights, interval_coverage
FROM ensemble_validation_metrics
WHERE run_id = %(run_id)s AND NOT is_baseline
ORDER BY symbol, window_id;
