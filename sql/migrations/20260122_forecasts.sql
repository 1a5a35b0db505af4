-- One row per run, symbol and horizon: the forecast for the next target time.
-- depends: 20260121_symbol_metadata
CREATE TABLE forecasts (
    id                BIGSERIAL        PRIMARY KEY,
    run_id            TEXT             NOT NULL,
    symbol            TEXT             NOT NULL,
    horizon           TEXT             NOT NULL,
    origin_ts         TIMESTAMPTZ      NOT NULL,
    target_ts         TIMESTAMPTZ      NOT NULL,
    last_close        DOUBLE PRECISION NOT NULL,
    predicted_return  DOUBLE PRECISION NOT NULL,
    predicted_price   DOUBLE PRECISION NOT NULL,
    lower_return      DOUBLE PRECISION NOT NULL,
    upper_return      DOUBLE PRECISION NOT NULL,
    lower_price       DOUBLE PRECISION NOT NULL,
    upper_price       DOUBLE PRECISION NOT NULL,
    interval_level    DOUBLE PRECISION NOT NULL,
    weights           JSONB            NOT NULL,
    weights_reverted  BOOLEAN          NOT NULL DEFAULT FALSE,
    model_count       INTEGER          NOT NULL,
    models_used       TEXT             NOT NULL,
    rollout_phase     TEXT             NOT NULL,
    created_at        TIMESTAMPTZ      NOT NULL DEFAULT NOW(),
    -- A Batch retry re-runs the same run id: the key makes its writes idempotent.
    CONSTRAINT forecasts_run_symbol_horizon_key UNIQUE (run_id, symbol, horizon)
);
-- Serves the canary check (symbol IN (...) AND horizon AND created_at window).
CREATE INDEX forecasts_symbol_horizon_created_idx ON forecasts (symbol, horizon, created_at DESC);
CREATE INDEX forecasts_created_idx ON forecasts (created_at);

-- Symbols that failed in a run, with the reason: "recorded, and the exit status says so".
CREATE TABLE forecast_failures (
    run_id      TEXT        NOT NULL,
    symbol      TEXT        NOT NULL,
    horizon     TEXT        NOT NULL,
    reason      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (run_id, symbol, horizon)
);
