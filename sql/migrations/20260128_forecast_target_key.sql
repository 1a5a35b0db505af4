-- One forecast per symbol, horizon and target time (DESIGN §3.2): a regenerated forecast (a new
-- run after a rollback, a manual resubmit) replaces the earlier one instead of adding a second.
-- Baseline rows get their own key, so a baseline set equal to the production set is still stored.
-- depends: 20260127_ensemble_validation_metrics
DELETE FROM forecasts AS older
USING forecasts AS newer
WHERE older.symbol = newer.symbol AND older.horizon = newer.horizon AND older.target_ts = newer.target_ts
  AND (older.created_at, older.id) < (newer.created_at, newer.id);
ALTER TABLE forecasts DROP CONSTRAINT forecasts_run_symbol_horizon_key;
ALTER TABLE forecasts ADD CONSTRAINT forecasts_symbol_horizon_target_key UNIQUE (symbol, horizon, target_ts);
CREATE INDEX forecasts_run_idx ON forecasts (run_id, symbol, horizon);
ALTER TABLE ensemble_validation_metrics DROP CONSTRAINT evm_run_window_key;
ALTER TABLE ensemble_validation_metrics
    ADD CONSTRAINT evm_run_window_key UNIQUE (run_id, symbol, horizon, model_set, is_baseline, window_id);
