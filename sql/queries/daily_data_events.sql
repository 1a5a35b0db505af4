-- Daily checks: real large moves kept in the symbols' bars, first recorded in the window.
SELECT symbol, timeframe, ts, change, robust_scales, created_at
FROM data_events
WHERE symbol = ANY(%(symbols)s) AND created_at > NOW() - %(window)s::interval
ORDER BY created_at, symbol, ts;
