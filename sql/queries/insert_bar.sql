-- Import one bar that is not stored yet; an existing bar (symbol, timeframe, ts) is left as it is.
INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source)
VALUES (%(symbol)s, %(timeframe)s, %(ts)s, %(open)s, %(high)s, %(low)s, %(close)s, %(volume)s, %(source)s)
ON CONFLICT (symbol, timeframe, ts) DO NOTHING;
