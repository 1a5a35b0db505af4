-- A symbol that failed in a run, with the reason (the latest attempt's reason wins) — unless an
-- earlier attempt of the same run already wrote its forecast: a symbol is never both.
INSERT INTO forecast_failures (run_id, symbol, horizon, reason)
SELECT %(run_id)s, %(symbol)s, %(horizon)s, %(reason)s
WHERE NOT EXISTS (
    SELECT 1 FROM forecasts WHERE run_id = %(run_id)s AND symbol = %(symbol)s AND horizon = %(horizon)s
)
ON CONFLICT (run_id, symbol, horizon) DO UPDATE SET reason = EXCLUDED.reason, created_at = NOW();
