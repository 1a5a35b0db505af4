-- Which of the symbols have at least one bar of the timeframe (one index probe each).
SELECT s.symbol
FROM unnest(%(symbols)s::text[]) AS s(symbol)
WHERE EXISTS (SELECT 1 FROM ohlc_bars b WHERE b.symbol = s.symbol AND b.timeframe = %(timeframe)s);
