-- Filter tests: every task of every run, its state and whether its publish stamp is set.
SELECT run_id, symbol, horizon, state, published_at IS NOT NULL AS stamped
FROM forecast_tasks ORDER BY run_id, symbol, horizon;
