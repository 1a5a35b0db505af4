-- Test data for the filter tests: a symbol that failed in a run, with its created_at and publication stamp.
INSERT INTO forecast_failures (run_id, symbol, horizon, reason, created_at, metrics_published_at)
VALUES (%(run_id)s, %(symbol)s, %(horizon)s, 'ValueError: seeded', %(created_at)s, %(metrics_published_at)s);
