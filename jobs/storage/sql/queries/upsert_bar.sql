-- Import one bar; a re-import of the same bar replaces its values instead of duplicating it.
INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source)
VALUES (%(symbol)s, %(timeframe)s, %(ts)s, %(open)s, %(high)s, %(low)s, %(close)s, %(volume)s, %(source)s)
ON CONFLICT (symbol, timeframe, ts) DO UPDATE
SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, source = EXCLUDED.source;
