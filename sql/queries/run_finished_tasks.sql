-- The run's finished symbol-horizons (rows and stamp committed), with who recorded them and, for a
-- failure, its reason, class (data: input refused; pipeline: code raised) and cause: a retry's exit
-- status and summary report these too.
SELECT t.symbol, t.horizon, t.state, t.attempt, f.reason, f.failure_class, f.cause
FROM forecast_tasks t
LEFT JOIN forecast_failures f ON f.run_id = t.run_id AND f.symbol = t.symbol AND f.horizon = t.horizon
WHERE t.run_id = %(run_id)s AND t.published_at IS NOT NULL
ORDER BY t.symbol, t.horizon;
