-- Test data for the filter tests: a symbol that failed in a run, with its created_at, publication stamp and class.
INSERT INTO forecast_failures (run_id, symbol, horizon, reason, created_at, metrics_published_at, failure_class, cause)
VALUES (%(run_id)s, %(symbol)s, %(horizon)s, 'ValueError: seeded', %(created_at)s, %(metrics_published_at)s,
        %(failure_class)s, %(cause)s);
