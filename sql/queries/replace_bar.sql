-- Import one bar, replacing a stored bar with different prices or volume (load_bars --replace only).
INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source)
VALUES (%(symbol)s, %(timeframe)s, %(ts)s, %(open)s, %(high)s, %(low)s, %(close)s, %(volume)s, %(source)s)
ON CONFLICT (symbol, timeframe, ts) DO UPDATE
SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, source = EXCLUDED.source
WHERE (ohlc_bars.open, ohlc_bars.high, ohlc_bars.low, ohlc_bars.close, ohlc_bars.volume)
      IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume);
