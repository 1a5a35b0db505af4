-- The job's input: OHLC bars per symbol and timeframe ('1d' daily, '1h' hourly).
-- depends:
CREATE TABLE ohlc_bars (
    symbol     TEXT             NOT NULL,
    timeframe  TEXT             NOT NULL CHECK (timeframe IN ('1d', '1h')),
    ts         TIMESTAMPTZ      NOT NULL,
    open       DOUBLE PRECISION NOT NULL,
    high       DOUBLE PRECISION NOT NULL,
    low        DOUBLE PRECISION NOT NULL,
    close      DOUBLE PRECISION NOT NULL,
    volume     DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- Where the bar came from, so sample or simulated data is never mistaken for market data.
    source     TEXT             NOT NULL DEFAULT 'import',
    PRIMARY KEY (symbol, timeframe, ts)
);
