-- A real large move kept in a symbol's bars; recorded once (the first run and horizon that saw it).
INSERT INTO data_events (symbol, timeframe, ts, change, robust_scales, run_id, horizon)
VALUES (%(symbol)s, %(timeframe)s, %(ts)s, %(change)s, %(robust_scales)s, %(run_id)s, %(horizon)s)
ON CONFLICT (symbol, timeframe, ts) DO NOTHING;
