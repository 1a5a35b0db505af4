-- How many bars the database holds (the demo seeds sample bars only into an empty table).
SELECT COUNT(*) AS n FROM ohlc_bars;
