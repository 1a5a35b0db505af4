-- The latest bars of one symbol and timeframe, newest first (the caller reverses them).
SELECT ts, open, high, low, close, volume, source
FROM ohlc_bars
WHERE symbol = %(symbol)s AND timeframe = %(timeframe)s
ORDER BY ts DESC
LIMIT %(limit)s;
