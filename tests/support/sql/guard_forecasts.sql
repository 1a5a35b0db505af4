-- Test reads: the forecast rows of the bound run, per symbol.
SELECT symbol, weights, weights_reverted, predicted_return
FROM forecasts
WHERE run_id = %(run_id)s
ORDER BY symbol;
