-- A symbol that failed in a run, with the reason (the latest attempt's reason wins).
INSERT INTO forecast_failures (run_id, symbol, horizon, reason)
VALUES (%(run_id)s, %(symbol)s, %(horizon)s, %(reason)s)
ON CONFLICT (run_id, symbol, horizon) DO UPDATE SET reason = EXCLUDED.reason, created_at = NOW();
