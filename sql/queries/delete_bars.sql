-- Delete one symbol's bars of one timeframe stamped in [%(start)s, %(end)s); returns every deleted
-- bar with its values (python -m jobs.bars delete prints them: the audit of what was removed).
DELETE FROM ohlc_bars
WHERE symbol = %(symbol)s AND timeframe = %(timeframe)s AND ts >= %(start)s AND ts < %(end)s
RETURNING symbol, timeframe, ts, open, high, low, close, volume, source;
