-- The one definition of the pairing behind "RMSE vs baseline" (jobs.forecasting.results.paired_rmse_gap,
-- issue 19): each production ensemble window with the legacy baseline's row for the same run, symbol,
-- horizon and window id. Only these windows count, so both means cover the same test slices. The
-- review (review_baseline_rmse), the dashboard (dashboard_baseline) and the per-run figures
-- (run_figures) read this view and aggregate it the same way, a ratio of means rather than a mean of
-- ratios: AVG(test_rmse) / NULLIF(AVG(baseline_test_rmse), 0) - 1.
-- A view adds no rights to grant: the job's role reads it through the default privileges.
-- depends: 20260128_forecast_target_key
CREATE VIEW paired_baseline_windows AS
SELECT e.id,
       e.run_id,
       e.symbol,
       e.horizon,
       e.window_id,
       e.rollout_phase,
       e.created_at,
       e.model_set,
       e.test_rmse,
       b.model_set AS baseline_model_set,
       b.test_rmse AS baseline_test_rmse
FROM ensemble_validation_metrics AS e
JOIN ensemble_validation_metrics AS b
  ON b.run_id = e.run_id AND b.symbol = e.symbol AND b.horizon = e.horizon
 AND b.window_id = e.window_id AND b.is_baseline
WHERE NOT e.is_baseline;
