-- Which of the given symbols have any bars of each given timeframe (one primary-key probe each).
SELECT s.symbol, t.timeframe
FROM unnest(%(symbols)s::text[]) AS s(symbol)
CROSS JOIN unnest(%(timeframes)s::text[]) AS t(timeframe)
WHERE EXISTS (SELECT 1 FROM ohlc_bars b WHERE b.symbol = s.symbol AND b.timeframe = t.timeframe);
