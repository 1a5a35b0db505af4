-- The stored bars of one symbol and timeframe at the given times, locked until the import commits.
SELECT ts, open, high, low, close, volume
FROM ohlc_bars
WHERE symbol = %(symbol)s AND timeframe = %(timeframe)s AND ts = ANY(%(ts)s)
FOR UPDATE;
