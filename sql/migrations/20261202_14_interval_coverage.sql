-- Interval calibration per walk-forward window (issue 14): how often the forecast's 90% interval
-- held the realised return on the test slice, and how wide it was. NULL on rows written before.
-- depends: 20260128_forecast_target_key
ALTER TABLE ensemble_validation_metrics
    ADD COLUMN interval_coverage DOUBLE PRECISION
        CONSTRAINT evm_interval_coverage_share CHECK (interval_coverage BETWEEN 0 AND 1),
    ADD COLUMN interval_width DOUBLE PRECISION
        CONSTRAINT evm_interval_width_nonnegative CHECK (interval_width >= 0);
COMMENT ON COLUMN ensemble_validation_metrics.interval_coverage IS
    'Test slice: share of realised returns inside the forecast interval (nominal level: forecasts.interval_level, 0.9)';
COMMENT ON COLUMN ensemble_validation_metrics.interval_width IS
    'Test slice: mean width of the forecast interval (upper - lower), in log-return units';
COMMENT ON COLUMN ensemble_validation_metrics.divergence IS
    'Relative degradation of skill against the naive forecast from validation to test (DESIGN 3.3). '
    '1000000 (jobs.contract.thresholds.LEAK_DIVERGENCE, the ceiling) means the validation RMSE was zero or '
    'negligible: a leak, overfitting beyond every threshold.';
COMMENT ON COLUMN ensemble_validation_metrics.rmse_ratio IS
    'Raw test/validation RMSE ratio (DESIGN 3.3); 1000001 (the ceiling) when the validation RMSE was zero (a leak).';
