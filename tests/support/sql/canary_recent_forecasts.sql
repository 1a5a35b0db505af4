-- Canary check: forecasts written for the bound symbols and horizon in the bound window (the document uses 1 hour).
-- The document's version orders a grouped query by an ungrouped column; the latest time is what it meant.
SELECT
    symbol,
    horizon,
    MAX(created_at) AS latest_created_at,
    COUNT(*) AS forecast_count
FROM forecasts
WHERE symbol = ANY(%(symbols)s)
  AND horizon = %(horizon)s
  AND created_at > NOW() - %(window)s::interval
GROUP BY symbol, horizon
ORDER BY latest_created_at DESC, symbol;
