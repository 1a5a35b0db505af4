-- One row per walk-forward window. Column names are the rollout document's.
-- depends: 20260122_forecasts
CREATE TABLE ensemble_validation_metrics (
    id               BIGSERIAL        PRIMARY KEY,
    run_id           TEXT             NOT NULL,
    symbol           TEXT             NOT NULL,
    horizon          TEXT             NOT NULL,
    window_id        INTEGER          NOT NULL,
    train_start      TIMESTAMPTZ      NOT NULL,
    val_start        TIMESTAMPTZ      NOT NULL,
    test_start       TIMESTAMPTZ      NOT NULL,
    test_end         TIMESTAMPTZ      NOT NULL,
    val_rmse         DOUBLE PRECISION NOT NULL,
    test_rmse        DOUBLE PRECISION NOT NULL,
    naive_val_rmse   DOUBLE PRECISION NOT NULL,
    naive_test_rmse  DOUBLE PRECISION NOT NULL,
    -- Raw test/val RMSE ratio, kept beside divergence for the dashboards (DESIGN §3.3).
    rmse_ratio       DOUBLE PRECISION NOT NULL,
    -- Degradation of skill against the naive forecast from validation to test (DESIGN §3.3).
    divergence       DOUBLE PRECISION NOT NULL,
    is_overfitting   BOOLEAN          NOT NULL,
    weights          JSONB            NOT NULL,
    weights_reverted BOOLEAN          NOT NULL DEFAULT FALSE,
    model_count      INTEGER          NOT NULL,
    models_used      TEXT             NOT NULL,
    -- The configured set: models_used may be smaller when a model failed in this window.
    model_set        TEXT             NOT NULL,
    model_errors     INTEGER          NOT NULL DEFAULT 0,
    is_baseline      BOOLEAN          NOT NULL DEFAULT FALSE,
    optimization_method TEXT          NOT NULL,
    rollout_phase    TEXT             NOT NULL,
    created_at       TIMESTAMPTZ      NOT NULL DEFAULT NOW(),
    CONSTRAINT evm_run_window_key UNIQUE (run_id, symbol, horizon, model_set, window_id)
);
-- The monitoring queries filter on created_at and group by symbol/horizon or model_count.
CREATE INDEX evm_created_idx ON ensemble_validation_metrics (created_at);
CREATE INDEX evm_symbol_horizon_created_idx ON ensemble_validation_metrics (symbol, horizon, created_at DESC);
CREATE INDEX evm_overfitting_created_idx ON ensemble_validation_metrics (created_at) WHERE is_overfitting;
