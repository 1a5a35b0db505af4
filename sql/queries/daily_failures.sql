-- Daily checks: failed symbol-horizons in the window, by class (pipeline: code raised, a rollback
-- trigger; data: input refused, a data incident) and cause, one row each with the latest reason.
SELECT symbol, horizon, failure_class, COALESCE(cause, '') AS cause, COUNT(*) AS runs,
       MAX(created_at) AS latest, (array_agg(reason ORDER BY created_at DESC))[1] AS reason
FROM forecast_failures
WHERE symbol = ANY(%(symbols)s) AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon, failure_class, cause
ORDER BY failure_class DESC, symbol, horizon, cause;
