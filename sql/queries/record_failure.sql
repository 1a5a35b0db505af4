-- A symbol that failed in a run, with the reason, its class (data: input refused; pipeline: code
-- raised) and a data incident's cause (the latest attempt's wins) — unless an earlier attempt of
-- the same run already wrote its forecast: a symbol is never both.
INSERT INTO forecast_failures (run_id, symbol, horizon, reason, failure_class, cause)
SELECT %(run_id)s, %(symbol)s, %(horizon)s, %(reason)s, %(failure_class)s, %(cause)s
WHERE NOT EXISTS (
    SELECT 1 FROM forecasts WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s
)
ON CONFLICT (run_id, symbol, horizon) DO UPDATE
SET reason = EXCLUDED.reason, failure_class = EXCLUDED.failure_class, cause = EXCLUDED.cause, created_at = NOW();
