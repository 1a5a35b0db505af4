-- Test data for the filter tests: one bar of a symbol and timeframe.
INSERT INTO ohlc_bars (symbol, timeframe, ts, open, high, low, close, volume, source)
VALUES (%(symbol)s, %(timeframe)s, %(ts)s, 100, 101, 99, 100, 1000, 'test: filter scenario');
