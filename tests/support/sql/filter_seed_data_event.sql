-- Test data for the filter tests: a real large move kept in a symbol's bars, recorded by a run at created_at.
INSERT INTO data_events (symbol, timeframe, ts, change, robust_scales, run_id, horizon, created_at)
VALUES (%(symbol)s, '1d', %(ts)s, -0.3, 29.0, %(run_id)s, %(horizon)s, %(created_at)s);
