-- Test data for the review: a symbol that failed in a run.
INSERT INTO forecast_failures (run_id, symbol, horizon, reason, created_at)
VALUES (%(run_id)s, %(symbol)s, %(horizon)s, %(reason)s, %(created_at)s);
