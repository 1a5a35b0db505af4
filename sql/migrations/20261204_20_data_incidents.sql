-- Data incidents are not release failures (issue 20). Additive only: an older image keeps working.
-- forecast_failures.failure_class: 'data' (the input was refused: too few bars, a gap, a stale feed,
--   a damaged price or unadjusted split, bars off the calendar, an unknown symbol) or 'pipeline'
--   (code raised). Rows written before, or by an older image, are 'pipeline': the conservative reading.
-- forecast_failures.cause: the refusal's short code (jobs.forecasting.series.BadBarsError).
-- symbol_metadata: a symbol with QUARANTINE_AFTER_INCIDENTS data incidents in a row is quarantined
--   (its tasks only check the bars, no fit) until its bars pass again.
-- data_events: each real large move kept in a symbol's bars, recorded once (first run and horizon).
-- depends: 20261202_16_symbol_retirement
ALTER TABLE forecast_failures
    ADD COLUMN failure_class TEXT NOT NULL DEFAULT 'pipeline'
        CONSTRAINT forecast_failures_class CHECK (failure_class IN ('data', 'pipeline')),
    ADD COLUMN cause TEXT;
COMMENT ON COLUMN forecast_failures.failure_class IS
    'data: the input was refused (a data incident: reported, ROLLBACK only when systemic); pipeline: code raised (ROLLBACK)';
COMMENT ON COLUMN forecast_failures.cause IS
    'Short code of a data incident: too-few-bars, bad-price, bad-order, constant, off-calendar, gap, damaged, split, '
    'stale, unknown-symbol, no-bars, quarantined (a quarantined symbol whose bars still fail)';

ALTER TABLE symbol_metadata
    ADD COLUMN data_incident_streak INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_incident_on DATE,
    ADD COLUMN quarantined_at TIMESTAMPTZ,
    ADD COLUMN quarantine_reason TEXT;
COMMENT ON COLUMN symbol_metadata.data_incident_streak IS
    'Run dates in a row with a data incident and no forecast in between (last_incident_on the latest); '
    'QUARANTINE_AFTER_INCIDENTS of them quarantine the symbol';

CREATE TABLE data_events (
    symbol         TEXT             NOT NULL,
    timeframe      TEXT             NOT NULL CHECK (timeframe IN ('1d', '1h')),
    -- The bar the move ends at.
    ts             TIMESTAMPTZ      NOT NULL,
    -- close / previous close - 1 (-0.3 is a 30% fall), and robust scales from the median return.
    change         DOUBLE PRECISION NOT NULL,
    robust_scales  DOUBLE PRECISION NOT NULL,
    -- The task that recorded it first: its metric DataEvents is published by exactly that task.
    run_id         TEXT             NOT NULL,
    horizon        TEXT             NOT NULL,
    created_at     TIMESTAMPTZ      NOT NULL DEFAULT NOW(),
    PRIMARY KEY (symbol, timeframe, ts)
);
CREATE INDEX data_events_created_idx ON data_events (created_at);
CREATE INDEX data_events_run_idx ON data_events (run_id, symbol, horizon);
