-- Rollout membership, kept in step with the stack's symbols by every run.
-- depends: 20260120_ohlc_bars
CREATE TABLE symbol_metadata (
    symbol         TEXT        PRIMARY KEY,
    is_canary      BOOLEAN     NOT NULL DEFAULT FALSE,
    rollout_phase  TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
