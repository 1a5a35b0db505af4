-- Which of the requested symbols have bars at a timeframe.
SELECT DISTINCT symbol FROM ohlc_bars WHERE timeframe = %(timeframe)s AND symbol = ANY(%(symbols)s);
